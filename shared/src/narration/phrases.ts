import type { Relationship } from "../state.ts";
import type { Outcome, Resolution } from "../turn.ts";
import type { DeedForm } from "../deed.ts";

/**
 * The template narrator's words. Each entry offers a few phrasings of one beat; the turn's seeded
 * random source picks one, so the same turn always reads the same and neighbouring turns vary.
 * Slots: {who} the acting character, {target} who or what the action is aimed at, {deed} what the
 * player wrote they do (in the form its entry is for, see deed.ts).
 */
export type Phrases = readonly string[];

/**
 * The attempt, by what the player wrote. Every phrasing starts with {who}, so a lead ("Calling on
 * "Thick Fog", ", "Quietly, ", "In secret, ") can go before any of them. A phrasing that names
 * {target} is passed over when the deed already names it.
 */
export const ATTEMPT: Record<Resolution["action"], Record<DeedForm, Phrases>> = {
  overcome: {
    none: ["{who} takes on {target}.", "{who} faces {target} head on."],
    noun: ["{who} takes on {deed}.", "{who} tackles {deed}.", "{who} turns to {deed}."],
    does: ["{who} {deed}."],
    verb: ["{who} sets out to {deed}.", "{who} tries to {deed}."],
    sentence: ["{deed}."],
    other: ["{who} makes a move: {deed}.", "{who} makes an attempt: {deed}."],
  },
  create_advantage: {
    none: [
      "{who} sizes up {target}, looking for an advantage.",
      "{who} studies {target} for something to use.",
    ],
    noun: ["{who} makes use of {deed}.", "{who} turns {deed} to advantage."],
    // a deed may look for something itself ("looks for an edge"): no "looking" after it
    does: ["{who} {deed}, hoping to gain by it.", "{who} {deed}, seeking an advantage."],
    verb: ["{who} tries to {deed}, hoping to gain by it.", "{who} sets out to {deed}, seeking an advantage."],
    sentence: ["{deed}."],
    other: ["{who} looks for an advantage: {deed}."],
  },
  attack: {
    none: ["{who} attacks {target}.", "{who} rounds on {target}.", "{who} goes for {target}."],
    noun: [
      "{who} goes at {target} with {deed}.",
      "{who} strikes at {target} with {deed}.",
      "{who} tries {deed}.",
    ],
    does: ["{who} rounds on {target} and {deed}.", "{who} {deed}."],
    verb: ["{who} rounds on {target}, trying to {deed}.", "{who} tries to {deed}."],
    sentence: ["{deed}."],
    other: ["{who} goes at {target}: {deed}."],
  },
  defend: {
    none: ["{who} braces against {target}.", "{who} stands fast against {target}."],
    noun: ["{who} braces against {deed}.", "{who} stands fast against {deed}."],
    does: ["{who} {deed}."],
    verb: ["{who} tries to {deed}.", "{who} braces against {target} and tries to {deed}."],
    sentence: ["{deed}."],
    other: ["{who} braces against {target}: {deed}."],
  },
};

/**
 * How a skill shows in the prose, as a lead before the attempt, for the skills of Fate Core; a
 * skill of a universe's own is left unsaid rather than told as "Drawing on Deceive".
 */
export const MANNER: Readonly<Record<string, string>> = {
  athletics: "Nimbly",
  burglary: "With a thief's touch",
  crafts: "With practised hands",
  deceive: "With a straight face",
  empathy: "Reading the mood",
  fight: "With a fighter's instinct",
  investigate: "With a careful eye",
  lore: "Drawing on old lore",
  notice: "With a sharp eye",
  physique: "With brute strength",
  provoke: "Menacingly",
  rapport: "With easy charm",
  shoot: "Taking careful aim",
  stealth: "Quietly",
  will: "By sheer will",
};

/** The aspects invoked on a roll, told as a lead before the attempt: {aspects}. */
export const INVOKE_LEAD: Phrases = [
  "Calling on {aspects}, ",
  "Drawing on {aspects}, ",
  "Leaning on {aspects}, ",
];

/** How it went: each phrasing reads after any attempt, and never says more than the outcome. */
export const RESULT: Record<Resolution["action"], Record<Outcome, Phrases>> = {
  overcome: {
    success_with_style: ["It goes better than anyone hoped.", "It is done, and done beautifully."],
    success: ["It works.", "The effort pays off.", "It is done."],
    tie: ["It works, barely, and not without a price.", "A near thing: it works, at a cost."],
    fail: ["It is not enough.", "It goes wrong.", "The attempt falls short."],
  },
  create_advantage: {
    success_with_style: ["Everything falls into place.", "It pays off handsomely."],
    success: ["It pays off.", "It works."],
    tie: ["Something small comes of it.", "It is a small gain, no more."],
    fail: ["Nothing comes of it.", "The moment slips away."],
  },
  attack: {
    success_with_style: ["The blow lands hard and clean.", "It strikes home with devastating force."],
    success: ["It lands.", "The blow strikes home.", "It connects."],
    tie: ["It glances off, but leaves an opening.", "Nearly: an opening, if not a wound."],
    fail: ["{target} turns it aside.", "It misses.", "{target} is not there when the blow falls."],
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

/** Openings of a new scene: {title}, and {place} where it has one. */
export const SCENE_OPENING: Phrases = [
  "A new scene opens: {title}.",
  "The story moves on: {title}.",
  "A new chapter begins: {title}.",
];
export const SCENE_OPENING_AT: Phrases = [
  "A new scene opens at {place}: {title}.",
  "The story moves on to {place}: {title}.",
  "At {place}, a new chapter begins: {title}.",
];

export const SCENE_CLOSING: Phrases = [
  "The scene closes.",
  "The moment passes into memory.",
  "The scene ends.",
];

/** A fight may be one of words (Provoke) as well as of steel: nothing here says which. */
export const CONFLICT_OPENING: Phrases = ["The fight is on.", "It comes to a fight.", "Now it is a fight."];
export const CONFLICT_CLOSING: Phrases = ["The fighting stops.", "The fight is over.", "Silence returns."];

export const CHOICE: Phrases = [
  "{who} makes a choice: {text}",
  "{who} decides: {text}",
  "{who} chooses: {text}",
];
/** Free text the character's own, whoever "I" is in it. */
export const CUSTOM: Phrases = ["{who}: {text}"];

/** {who}: the character's name with its high concept ("Mara, disgraced cartographer"). */
export const JOINED: Phrases = ["Enter {who}.", "The story gains {who}.", "A new face: {who}."];

export const SESSION_STARTED: Phrases = ["{who} returns to the table.", "{who} takes up the tale again."];
export const SESSION_FIRST: Phrases = ["{who} steps into the tale.", "{who} comes into the story."];
export const SESSION_ENDED: Phrases = [
  "{who} steps away from the table for now.",
  "{who} leaves the table for now.",
];

/** Harm absorbed by stress alone: {name}. */
export const STRESS: Record<"physical" | "mental", Phrases> = {
  physical: ["{name} staggers, but stays up.", "{name} is hurt, but not out.", "{name} reels from it."],
  mental: ["{name} is shaken, but holds together.", "{name} wavers, but does not break."],
};
/** Harm that leaves a consequence: {name}, {wound} a quoted name (an adjective or a noun). */
export const CONSEQUENCE: Phrases = [
  "{name} will carry this: {wound}.",
  "It leaves its mark on {name}: {wound}.",
  "{name} takes a lasting hurt: {wound}.",
];
/** {who} took {name} out. */
export const TAKEN_OUT: Phrases = [
  "{name} is out of the fight.",
  "{name} can fight no more.",
  "{who} takes {name} out of the fight.",
];
export const CONCEDED: Phrases = [
  "{name} concedes the fight.",
  "{name} yields before worse can happen.",
  "{name} gives up the fight, on their own terms.",
];

/** An undo: {n} the undone turn's position. */
export const UNDO: Phrases = [
  "The story takes back a step: turn {n} never happened.",
  "{who} takes back turn {n}, as if it never happened.",
];
/** An undo by someone the prose cannot name. */
export const UNDO_UNNAMED: Phrases = [
  "The story takes back a step: turn {n} never happened.",
  "Turn {n} is taken back, as if it never happened.",
];

/** Aspects: {aspect} a quoted name, {aspects} one or more. */
export const ASPECT_CREATED: Phrases = [
  "Now there is {aspect} to work with.",
  "The scene gains {aspect}.",
  "The scene now holds {aspect}.",
];
export const BOOST: Phrases = [
  "For a moment, {who} has {aspect} to use.",
  "A fleeting chance opens: {aspect}.",
];
export const FREE_INVOKES: Phrases = [
  "{aspect} weighs all the more now.",
  "{aspect} grows more useful still.",
];

/** An NPC's feeling for a character changes, from a feeling not known: {npc}, {name}. */
export const ATTITUDE_NOW: Record<Relationship, Phrases> = {
  hostile: ["{npc} is {name}'s enemy now."],
  wary: ["{npc} is wary of {name} now."],
  neutral: ["{npc} is indifferent to {name} now."],
  friendly: ["{npc} is friendly towards {name} now."],
  ally: ["{npc} is {name}'s ally now."],
};
/** Set to what it already was: nothing changed, and the prose must not say it did. */
export const ATTITUDE_SAME: Record<Relationship, Phrases> = {
  hostile: ["{npc} is {name}'s enemy still."],
  wary: ["{npc} is still wary of {name}."],
  neutral: ["{npc} is still indifferent to {name}."],
  friendly: ["{npc} is still friendly towards {name}."],
  ally: ["{npc} is {name}'s ally still."],
};
/** Warmer than before (there is nothing colder than hostile to warm from). */
export const ATTITUDE_WARMER: Partial<Record<Relationship, Phrases>> = {
  wary: ["{npc} softens towards {name}, if warily.", "{npc} is wary of {name} now, but no longer hostile."],
  neutral: ["{npc} no longer holds anything against {name}.", "{npc} lets go of a grudge against {name}."],
  friendly: ["{npc} warms to {name}.", "{npc} takes a liking to {name}."],
  ally: ["{npc} stands with {name} now.", "{npc} becomes {name}'s ally."],
};
/** Colder than before. */
export const ATTITUDE_COLDER: Partial<Record<Relationship, Phrases>> = {
  hostile: ["{npc} turns against {name}.", "{npc} is {name}'s enemy now."],
  wary: ["{npc} grows wary of {name}.", "{npc} no longer trusts {name}."],
  neutral: ["{npc} cools towards {name}.", "{npc} keeps {name} at arm's length now."],
  friendly: ["{npc} is still friendly to {name}, if less than before."],
};
/** Turned hostile by an attack in the same turn. */
export const ATTACKED: Phrases = ["{npc} will not forget this.", "This makes an enemy of {npc}."];
/** An NPC's disposition towards everyone. */
export const DISPOSITION: Record<Relationship, Phrases> = {
  hostile: ["{npc} turns hostile."],
  wary: ["{npc} grows wary."],
  neutral: ["{npc} is neither friend nor foe now."],
  friendly: ["{npc} turns friendly."],
  ally: ["{npc} is an ally now."],
};

/** Quests: {quest} the quoted title. */
export const QUEST_ADDED: Phrases = ["A new quest begins: {quest}.", "A quest opens: {quest}."];
export const QUEST_RESOLVED: Phrases = [
  "The quest {quest} is fulfilled.",
  "The quest {quest} comes to a good end.",
];
export const QUEST_FAILED: Phrases = ["The quest {quest} ends in failure.", "The quest {quest} is lost."];
export const QUEST_PAUSED: Phrases = ["The quest {quest} is set aside for now."];
export const QUEST_RESUMED: Phrases = ["The quest {quest} is taken up again."];

/** Compels: {name}, {aspect} quoted. A refused compel's complication never happened: not told. */
export const COMPEL_ACCEPTED: Phrases = [
  "{aspect} catches up with {name}.",
  "True to {aspect}, trouble finds {name}.",
];
export const COMPEL_REFUSED: Phrases = [
  "{name} will not let {aspect} get in the way.",
  "{name} refuses to be ruled by {aspect}.",
];

/** Milestones by level: {name}. */
export const MILESTONE: Record<string, Phrases> = {
  minor: ["{name} grows a little.", "{name} learns from it."],
  significant: ["{name} has come a long way.", "{name} is changed by all this."],
  major: ["{name} is not who they were.", "{name} has grown into someone new."],
};

/** A run ends: {name}, {reason} (may be empty). */
export const RUN_COMPLETED: Phrases = ["So ends the tale of {name}.", "{name}'s story comes to its end."];
export const RUN_COMPLETED_WHY: Phrases = [
  "So ends the tale of {name}: {reason}.",
  "{name}'s story comes to its end: {reason}.",
];
export const RUN_ABANDONED: Phrases = [
  "{name}'s story is left unfinished.",
  "{name}'s tale breaks off, unfinished.",
];

/** The location a new scene opens at is one no one had found before. */
export const FOUND_HERE: Phrases = ["It is new ground.", "The place is new to them."];

/** Aspects invoked with no roll to lead: {aspects}. */
export const INVOKE: Phrases = ["{who} calls on {aspects}.", "{who} draws on {aspects}."];
