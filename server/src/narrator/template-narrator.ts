import { createRandom, narrateTemplate } from "@loom/shared";
import type { NarrationRequest, Narrator, NarratorOutput } from "./narrator.ts";

/** The embedded narrator: prose from the turn itself, no network, the same text every time. */
export class TemplateNarrator implements Narrator {
  readonly name = "template";

  narrate(request: NarrationRequest): Promise<NarratorOutput> {
    return Promise.resolve(this.tellNow(request));
  }

  tellNow(request: NarrationRequest): NarratorOutput {
    const text = narrateTemplate(request.turn, request.state, createRandom(request.seed));
    // no chunks: the text exists whole at once (told as its turn is made, it travels inside the turn)
    return { text, model: null, promptHash: null, tokens: null, endpoint: null, parameters: {} };
  }
}
