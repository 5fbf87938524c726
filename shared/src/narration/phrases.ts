import type { Outcome, Resolution } from "../turn.ts";

/**
 * The template narrator's words. Each entry offers a few phrasings of one beat; the turn's seeded
 * random source picks one, so the same turn always reads the same and neighbouring turns vary.
 * Slots: {who} the acting character, {target} who or what the action is aimed at, {deed} what the
 * player wrote they do, {skill} the skill used in lower case.
 */
export type Phrases = readonly string[];

/** The attempt, when the player described it. */
export const ATTEMPT_DESCRIBED: Record<Resolution["action"], Phrases> = {
  overcome: [
    "{who} sets about it: {deed}.",
    "Drawing on {skill}, {who} tries it: {deed}.",
    "{who} will not be stopped here: {deed}.",
  ],
  create_advantage: [
    "{who} looks for an edge: {deed}.",
    "Patiently, with {skill}, {who} works the moment: {deed}.",
    "{who} sees an opening and takes it: {deed}.",
  ],
  attack: [
    "{who} goes at {target}: {deed}.",
    "With {skill} behind it, {who} strikes at {target}: {deed}.",
    "{who} closes on {target}: {deed}.",
  ],
  defend: [
    "{who} braces against {target}: {deed}.",
    "{who} gives no ground to {target}: {deed}.",
    "Relying on {skill}, {who} holds firm: {deed}.",
  ],
};

/** The attempt, when the player left the description empty. */
export const ATTEMPT_BARE: Record<Resolution["action"], Phrases> = {
  overcome: ["{who} takes on {target}.", "{who} faces {target} head on."],
  create_advantage: [
    "{who} sizes up {target}, looking for an advantage.",
    "{who} studies {target} for an edge.",
  ],
  attack: ["{who} attacks {target}.", "{who} rounds on {target}.", "{who} goes for {target}."],
  defend: ["{who} braces against {target}.", "{who} stands fast against {target}."],
};

/** How it went. */
export const RESULT: Record<Resolution["action"], Record<Outcome, Phrases>> = {
  overcome: {
    success_with_style: ["It goes better than anyone hoped.", "It is done, and done beautifully."],
    success: ["It works.", "The obstacle gives way.", "The effort pays off."],
    tie: ["It works, barely, and not without a price.", "A near thing: it holds, at a cost."],
    fail: ["It is not enough.", "It goes wrong.", "The attempt falls short."],
  },
  create_advantage: {
    success_with_style: ["The advantage is better than hoped.", "Everything falls into place."],
    success: ["It pays off.", "The ground shifts in {who}'s favour."],
    tie: ["Something small comes of it.", "A fleeting edge, no more."],
    fail: ["Nothing comes of it.", "The moment slips away."],
  },
  attack: {
    success_with_style: ["The blow lands hard and clean.", "It strikes home with devastating force."],
    success: ["It lands.", "The blow strikes home.", "It connects."],
    tie: ["It glances off, but leaves an opening.", "Nearly: an opening, if not a wound."],
    fail: ["{target} turns it aside.", "It misses.", "{target} is not there when it lands."],
  },
  defend: {
    success_with_style: [
      "The defence holds, and turns into an opening.",
      "Not a scratch, and a chance besides.",
    ],
    success: ["The defence holds.", "It is turned aside."],
    tie: ["The defence holds, just.", "It is a close thing."],
    fail: ["The defence breaks.", "It is not enough to hold."],
  },
};

/** The attempt of a roll told to GMs alone. */
export const HIDDEN_PREFIX: Phrases = ["Unseen by the others, ", "Out of sight, ", "In secret, "];

/** Openings of a new scene: {title}, {where}. */
export const SCENE_OPENING: Phrases = [
  "A new scene opens{where}: {title}.",
  "The story moves on{where}. {title}.",
  "Elsewhere{where}, a new chapter begins: {title}.",
];

export const SCENE_CLOSING: Phrases = [
  "The scene closes.",
  "The moment passes into memory.",
  "The scene ends.",
];

export const CONFLICT_OPENING: Phrases = ["Steel is drawn.", "The fight is on.", "There is no talking now."];
export const CONFLICT_CLOSING: Phrases = ["The fighting stops.", "The fight is over.", "Silence returns."];

/** The game master's world events: {text}. */
export const WORLD_EVENT: Phrases = ["{text}", "Then this: {text}", "Elsewhere in the world: {text}"];

export const CHOICE: Phrases = [
  "{who} makes a choice: {text}",
  "{who} decides. {text}",
  "{who} chooses: {text}",
];
export const CUSTOM: Phrases = ["{who}: {text}", "{text}"];

export const JOINED: Phrases = [
  "{who}, {concept}, steps into the story.",
  "Enter {who}, {concept}.",
  "The story gains {who}, {concept}.",
];

export const SESSION_STARTED: Phrases = ["{who} returns to the table.", "{who} takes up the tale again."];
export const SESSION_FIRST: Phrases = ["{who} steps into the tale.", "{who} comes into the story."];
export const SESSION_ENDED: Phrases = ["{who} steps away from the table for now.", "{who} rests, for now."];

/** Harm absorbed by stress alone: {name}. */
export const STRESS: Phrases = [
  "{name} staggers, but stays up.",
  "{name} is hurt, but not out.",
  "{name} reels from it.",
];
/** Harm that leaves a consequence: {name}, {wound}. */
export const CONSEQUENCE: Phrases = [
  "{name} will carry this: {wound}.",
  "It leaves {name} {wound}.",
  "{name} is left {wound}.",
];

/** An undo: {n} the undone turn's position. */
export const UNDO: Phrases = [
  "The story takes back a step: turn {n} never happened.",
  "{who} takes back turn {n}, as if it never happened.",
];

/** Aspects: {aspect} a quoted name, {aspects} one or more. */
export const ASPECT_CREATED: Phrases = [
  "Now there is {aspect} to work with.",
  "It leaves the scene with {aspect}.",
  "From here on, {aspect}.",
];
export const BOOST: Phrases = [
  "For a moment, {who} has the edge: {aspect}.",
  "A fleeting chance opens: {aspect}.",
];
export const FREE_INVOKES: Phrases = [
  "{aspect} weighs all the more now.",
  "{aspect} grows more useful still.",
];
export const INVOKE: Phrases = [
  "{who} calls on {aspects}.",
  "{who} draws on {aspects}.",
  "Remembering {aspects}, {who} presses on.",
];
