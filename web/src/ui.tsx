import { cloneElement, isValidElement, type ComponentChildren } from "preact";
import { useCallback, useId, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { describeError } from "./api.ts";
import { onLink } from "./router.ts";

/** A long operation's progress and outcome: `busy` while it runs, its coded error after. */
export interface Task {
  busy: boolean;
  error: string | null;
  run: (work: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
}

/** "1 turn", "3 turns": a count and its noun (the plural by adding an s unless given). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

export function useTask(): Task {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const running = useRef(false);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    if (running.current) return false;
    running.current = true;
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (caught) {
      setError(describeError(caught));
      return false;
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

/** Reads of one record that may overlap, of which only the newest answer may be taken. */
export interface NewestRead {
  /**
   * Reads with `fetch` and gives the answer to `take`, unless a read began after this one or a
   * record came from elsewhere (`outdate`) while it ran: taken, the older answer would show the
   * record as it was (a universe just joined missing, a paused run active again).
   */
  read: <T>(fetch: () => Promise<T>, take: (answer: T) => void) => Promise<void>;
  /** A newer record than any read under way has answered (a command returned it): they are dropped. */
  outdate: () => void;
}

export function useNewestRead(): NewestRead {
  const reads = useRef(0);
  return useMemo(
    () => ({
      read: async (fetch, take) => {
        const mine = ++reads.current;
        const answer = await fetch();
        if (mine === reads.current) take(answer);
      },
      outdate: () => void reads.current++,
    }),
    [],
  );
}

export function ErrorLine({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/** A submit button that says what it is doing while its task runs. */
export function Submit(props: {
  task: Task;
  label: string;
  busyLabel?: string;
  name?: string;
  kind?: string;
}) {
  return (
    <button
      type="submit"
      name={props.name}
      class={props.kind}
      disabled={props.task.busy}
      aria-busy={props.task.busy}
    >
      {props.task.busy ? (props.busyLabel ?? `${props.label}…`) : props.label}
    </button>
  );
}

/** What a destructive operation asks before it runs: the question, and the button that says yes. */
export interface Confirmation {
  question: string;
  yes: string;
}

/**
 * A button for an operation; its progress shows on the button, its error below it. With
 * `confirm`, the first press only asks (the question and a second, explicit button, which takes
 * the keyboard's focus; Escape or Cancel leaves it undone), for steps that cannot be taken back.
 */
export function Action(props: {
  label: string;
  busyLabel?: string;
  onRun: () => Promise<unknown>;
  kind?: string;
  disabled?: boolean;
  title?: string;
  confirm?: Confirmation | null;
  /** What is missing before it may run, said in place of asking or running; null when nothing. */
  check?: () => string | null;
}) {
  const task = useTask();
  const [asking, setAsking] = useState(false);
  const [missing, setMissing] = useState<string | null>(null);
  const yes = useRef<HTMLButtonElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const questionId = useId();
  // the question replaces the button: the keyboard goes to its answer, and back after it, as the
  // question is drawn (a layout effect), so an Escape pressed the moment it shows is heard
  const answered = useRef(false);
  useLayoutEffect(() => {
    if (asking) yes.current?.focus();
    else if (answered.current) {
      answered.current = false;
      button.current?.focus();
    }
  }, [asking]);
  const run = () =>
    void task.run(props.onRun).then(() => {
      // the button was disabled while it ran, which drops the keyboard's focus
      if (document.activeElement === document.body || document.activeElement === null)
        button.current?.focus();
    });
  if (asking && props.confirm)
    return (
      <span
        class="action confirm"
        role="group"
        aria-label={props.label}
        onKeyDown={(event) => {
          if (event.key !== "Escape") return;
          answered.current = true;
          setAsking(false);
        }}
      >
        <span class="question" id={questionId}>
          {props.confirm.question}
        </span>
        <span class="row">
          <button
            type="button"
            class="danger"
            ref={yes}
            aria-describedby={questionId}
            onClick={() => {
              answered.current = true;
              setAsking(false);
              run();
            }}
          >
            {props.confirm.yes}
          </button>
          <button
            type="button"
            onClick={() => {
              answered.current = true;
              setAsking(false);
            }}
          >
            Cancel
          </button>
        </span>
      </span>
    );
  return (
    <span class="action">
      <button
        type="button"
        ref={button}
        class={props.kind}
        title={props.title}
        disabled={task.busy || props.disabled}
        aria-busy={task.busy}
        onClick={() => {
          const problem = props.check?.() ?? null;
          setMissing(problem);
          if (problem === null) void (props.confirm ? setAsking(true) : run());
        }}
      >
        {task.busy ? (props.busyLabel ?? `${props.label}…`) : props.label}
      </button>
      <ErrorLine error={missing ?? task.error} />
    </span>
  );
}

/**
 * A labelled control. The label names the control alone (`for`), so a select's options or the
 * hint never become part of its accessible name; the hint describes it.
 */
export function Field(props: { label: string; hint?: ComponentChildren; children: ComponentChildren }) {
  const id = useId();
  const control = isValidElement(props.children)
    ? cloneElement(props.children, { id, "aria-describedby": props.hint ? `${id}-hint` : undefined })
    : props.children;
  return (
    <div class="field">
      <label class="label" for={id}>
        {props.label}
      </label>
      {control}
      {props.hint ? (
        <small class="hint" id={`${id}-hint`}>
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={props.href} class={props.class} onClick={(event) => onLink(event, props.href)}>
      {props.children}
    </a>
  );
}

export function Section(props: { title: string; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`panel ${props.class ?? ""}`} id={props.id} aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** Form values as strings, by field name. */
export function formValues(event: Event): Record<string, string> {
  event.preventDefault();
  const data = new FormData(event.currentTarget as HTMLFormElement);
  const values: Record<string, string> = {};
  for (const [key, value] of data.entries()) values[key] = typeof value === "string" ? value : "";
  return values;
}
