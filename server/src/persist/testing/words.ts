// Vocabulary for synthetic campaigns: enough variety that text compresses and indexes like prose.
export const NAMES = [
  "Aldric", "Brenna", "Caius", "Dorothea", "Eamon", "Fenwick", "Gisela", "Hollis", "Isolde", "Jorah",
  "Kestrel", "Lysander", "Maren", "Niall", "Oriel", "Percival", "Quilla", "Rowan", "Sabine", "Tamsin",
  "Ulric", "Vesna", "Wystan", "Xanthe", "Yorick", "Zephyr",
];

export const PLACES = [
  "the Drowned Abbey", "Saltmarsh Crossing", "the Ember Vaults", "Hollowmere", "the Glass Orchard",
  "Ravensgate", "the Tidewright Docks", "Old Kettle Inn", "the Sunken Library", "Briarwatch Keep",
  "the Ashen Steppe", "Lanternfall", "the Copper Bazaar", "Wyrmrest Ridge", "the Whispering Fen",
];

export const SKILLS = [
  "Athletics", "Burglary", "Contacts", "Crafts", "Deceive", "Drive", "Empathy", "Fight", "Investigate",
  "Lore", "Notice", "Physique", "Provoke", "Rapport", "Resources", "Shoot", "Stealth", "Will",
];

export const VERBS = [
  "searches", "climbs", "persuades", "sneaks past", "questions", "bargains with", "studies", "follows",
  "confronts", "deciphers", "repairs", "shadows", "charms", "intimidates", "examines", "defends",
  "distracts", "tracks", "barricades", "consoles", "outwits", "ambushes", "signals", "pries open",
];

export const OBJECTS = [
  "the rusted gate", "a sealed letter", "the smuggler's ledger", "the old lighthouse keeper",
  "a cracked astrolabe", "the abbey's bell tower", "the harbour guard", "a trail of wet footprints",
  "the merchant's strongbox", "the frightened novice", "a map drawn in soot", "the collapsed tunnel",
  "the silver-masked envoy", "the toll bridge", "an unmarked barrel", "the witch's familiar",
  "the captain's logbook", "a ring of tarnished keys", "the flooded cellar", "the warden's hound",
];

export const MANNERS = [
  "carefully", "with a grin", "under cover of the storm", "before the bells ring", "without a sound",
  "while the crowd is distracted", "despite the pain", "hoping no one notices", "in plain sight",
  "with trembling hands", "as the lanterns gutter", "using an old trick from the docks",
];

export const OUTCOMES = [
  "and finds more than expected", "but something watches from the dark", "and the air grows cold",
  "yet the price is steep", "and an old debt surfaces", "while thunder rolls over the marsh",
  "and a name is whispered", "but the trail goes cold", "and a door opens that should stay shut",
  "as rain hammers the slate roofs", "and the tide turns early", "and a bargain is struck",
];

export const ASPECTS = [
  "Haunted by the Drowned Choir", "Debts in Every Port", "Sworn Blade of Ravensgate", "Too Curious by Half",
  "The Tide Remembers", "Ashes on My Hands", "Friends in Low Places", "Last of the Lantern Wardens",
  "Scarred but Unbroken", "Silver Tongue, Empty Purse", "A Map Only I Can Read", "Owes the Witch a Favour",
];
