import type { ComponentChildren } from "preact";
import { inlineSpans } from "@loom/shared";

/** `*emphasis*` and `**strong**` within a line, escapes undone, as text nodes (never HTML). */
function inline(text: string): ComponentChildren[] {
  return inlineSpans(text).map((span, index) => {
    if (span.kind === "strong") return <strong key={index}>{span.text}</strong>;
    if (span.kind === "em") return <em key={index}>{span.text}</em>;
    return span.text;
  });
}

/**
 * The little Markdown a recap uses (headings, bullet lists, emphasis), rendered as elements: the
 * text comes from the story, so it is never parsed as HTML.
 */
export function Markdown({ text }: { text: string }) {
  const blocks: ComponentChildren[] = [];
  let items: string[] = [];
  const flush = () => {
    if (items.length === 0) return;
    blocks.push(
      <ul key={`ul-${blocks.length}`}>
        {items.map((item, index) => (
          <li key={index}>{inline(item)}</li>
        ))}
      </ul>,
    );
    items = [];
  };
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("- ")) {
      items.push(trimmed.slice(2));
      continue;
    }
    flush();
    if (trimmed === "") continue;
    if (trimmed.startsWith("### ")) blocks.push(<h4 key={blocks.length}>{inline(trimmed.slice(4))}</h4>);
    else if (trimmed.startsWith("## ")) blocks.push(<h3 key={blocks.length}>{inline(trimmed.slice(3))}</h3>);
    else blocks.push(<p key={blocks.length}>{inline(trimmed)}</p>);
  }
  flush();
  return <div class="markdown">{blocks}</div>;
}
