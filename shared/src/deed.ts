import { lowerFirst } from "./prose.ts";

/**
 * What a player wrote they do, sorted by its grammar so the narrator can build a sentence around
 * it. Players write a noun phrase ("the collapsed tunnel", "a hail of arrows"), a verb phrase in
 * the third person ("wades across the channel") or the bare form ("wade up the flooded stair"), a
 * line in the first person ("I draw my knife"), or a whole sentence about their character
 * ("Mara kicks the door in"). Only what is recognised for certain gets a fluent frame; anything
 * else keeps the player's words behind a colon, which reads well enough with any of them.
 */
export type DeedForm =
  /** Empty. */
  | "none"
  /** Starts with an article or another determiner: "the rotten stairs". */
  | "noun"
  /** A known verb in its bare form: "wade up the flooded stair". */
  | "verb"
  /** A known verb in the third person: "wades across the channel". */
  | "does"
  /** A sentence that names the acting character first: "Mara kicks the door in". */
  | "sentence"
  /** Anything else, the first person among it: told as written, after a colon. */
  | "other";

export interface Deed {
  form: DeedForm;
  /** The words as the chosen frame wants them: no final stop, a lower-case first word if common. */
  text: string;
}

const DETERMINERS = new Set([
  "a",
  "an",
  "the",
  "this",
  "that",
  "these",
  "those",
  "his",
  "her",
  "their",
  "its",
  "some",
  "every",
  "each",
  "another",
  "both",
  "several",
]);

/** Words that make a line the character's own voice: kept as written, after a colon. */
const FIRST_PERSON = new Set(["i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "let's"]);

/**
 * Verbs a player may start an action with, in the bare form. Words that as often begin a noun
 * phrase ("fire", "light", "storm", "hail", "set") are left out: a deed starting with one is told
 * after a colon rather than risk "tries to storm winds".
 */
const VERBS = `act aim ambush answer approach argue ask assess attack bait bargain barge bash bind bite
block bluff board bolt brace break bribe build burn call calm carry carve catch chant charge charm
chase check chop circle clamber clear climb cling close coax command comfort confront convince
count cover crawl creep cross crouch cut dart dash deal decipher defend deflect demand descend dig
disarm disguise distract dive dodge douse drag draw drink drive drop duck duel ease eavesdrop edge
enter escape evade examine explore face feint fend fetch fight find fix flank flee fling follow
force forge gather glare grab grapple grip guard guide haggle haul head heal heave help hide hit
hoist hold hum hunt hurl ignore inspect interrogate intimidate jab jump keep kick kneel knock lash
launch leap lie lift listen lock look lunge lure make mark mend mock move negotiate offer open
outrun parry part pass pay peer persuade pick pin plead plunge point pour pray press prise probe
promise protect provoke pry pull punch push put question race raise rally ram reach read recall
recite reload remember repair rescue resist retreat ride roll row run rush sail scale scan scout
scramble scream search seize shadow shake shield shoot shout shove sidestep signal sing sink slam
slash slide slip sneak sniff spin splash spot sprint spur squeeze stab stagger stalk stand stare
steady steal steer step stop strike study stumble swim swing swipe tackle take talk taunt tear
tell test threaten throw tie track trade trail trick trip try tug turn twist unlock untie vanish
vault wade wait walk warn watch weave whisper whistle wield wrench wrestle yank yell go get give
use send bring hurry slink tread`
  .split(/\s+/)
  .filter((word) => word !== "");

const BARE = new Set(VERBS);

/** The third person of a bare verb: try → tries, push → pushes, go → goes, wade → wades. */
function thirdPerson(verb: string): string {
  if (/[^aeiou]y$/.test(verb)) return `${verb.slice(0, -1)}ies`;
  if (/(s|sh|ch|x|z|o)$/.test(verb)) return `${verb}es`;
  return `${verb}s`;
}

/** "Is", "has" and "does" are left out: they start questions ("Is anyone there?") as often. */
const DOES = new Set(VERBS.map(thirdPerson));

function word(text: string | undefined): string {
  return (text ?? "").toLowerCase().replace(/[,;:.!?]+$/u, "");
}

/** Whether the text starts with the character's name, or the first word of it. */
function startsWithName(text: string, name: string): boolean {
  const lower = text.toLowerCase();
  const first = name.split(/\s+/)[0] ?? "";
  return [name, first].some(
    (candidate) =>
      candidate !== "" &&
      lower.startsWith(candidate.toLowerCase()) &&
      !/[\p{L}\p{N}]/u.test(lower.charAt(candidate.length)),
  );
}

/** The form of a verb phrase led by `words[at]`, after an optional "-ly" adverb. */
function verbForm(words: readonly string[]): "verb" | "does" | null {
  const lead = word(words[0]);
  const head = lead.endsWith("ly") && words.length > 1 ? word(words[1]) : lead;
  if (DOES.has(head)) return "does";
  if (BARE.has(head)) return "verb";
  return null;
}

/** Sorts a player's words by form (see DeedForm); `name` is the acting character's. */
export function readDeed(raw: string, name: string): Deed {
  const text = raw
    .trim()
    .replace(/\s+/gu, " ")
    .replace(/[\s.!?…,;:]+$/u, "");
  if (text === "") return { form: "none", text };
  if (startsWithName(text, name)) return { form: "sentence", text };
  const words = text.split(" ");
  const lead = word(words[0]);
  // "I wade across" is the bare verb phrase "wade across", unless more of it is the player's voice
  if (lead === "i" && words.length > 1 && !words.slice(1).some((w) => FIRST_PERSON.has(word(w)))) {
    const rest = words.slice(1);
    if (verbForm(rest) === "verb") return verbDeed(rest.join(" "));
  }
  if (FIRST_PERSON.has(lead)) return { form: "other", text };
  if (DETERMINERS.has(lead)) return { form: "noun", text: lowerFirst(text) };
  const form = verbForm(words);
  if (form === "does") return { form, text: lowerFirst(text) };
  if (form === "verb") return verbDeed(text);
  return { form: "other", text };
}

/** Characters that say something: words of only spaces and stops are none. */
const SAYS_SOMETHING = /[^\s.!?…,;:]/u;
const FIRST_WORD = /^\s*(\S+)/u;

/**
 * `readDeed` where only a noun phrase matters: "none", "noun" with its text, or "other" for every
 * other form. The rules describe every roll they decide with it, so the first word decides before
 * the whole text is read: few words begin with a determiner.
 */
export function readObject(raw: string, name: string): Deed {
  if (!SAYS_SOMETHING.test(raw)) return { form: "none", text: "" };
  const lead = (FIRST_WORD.exec(raw)?.[1] ?? "").toLowerCase().replace(/[.!?…,;:]+$/u, "");
  if (!DETERMINERS.has(lead)) return { form: "other", text: raw };
  const deed = readDeed(raw, name);
  return deed.form === "noun" ? deed : { form: "other", text: deed.text };
}

/** "try to wade" reads "tries to try to wade" after the narrator's own "tries to": drop it. */
function verbDeed(text: string): Deed {
  return { form: "verb", text: lowerFirst(text).replace(/^try to /u, "") };
}
