// The word policy in JavaScript: quarantine a message whose Subject contains the setting
// `word`, with the reason `subject matched`; otherwise accept it and add `X-Word-Checked: yes`.
// The match is case-sensitive; without the setting, or with an empty one, nothing matches.
//
// componentize-js maps the policy world to JavaScript: interfaces are modules named after
// them, records are objects with camelCase keys, enums are strings, an absent option is
// undefined and a variant is { tag, val }.

import { setting } from "wasmilter:policy/host@1.0.0";

// A verdict with `action`, and the fields in `rest`.
function verdict(action, rest = {}) {
  return {
    action,
    encrypt: undefined,
    reason: undefined,
    reply: undefined,
    headerEdits: [],
    envelopeEdits: [],
    findings: [],
    tags: [],
    final: false,
    ...rest,
  };
}

// The world's export: decide what happens to one message.
export function evaluate(message) {
  // An empty word would be found in every Subject: treat it as no word at all.
  const word = setting("word");
  const subject = message.subject() ?? "";

  if (word && subject.includes(word)) {
    return verdict("quarantine", { reason: "subject matched" });
  }
  return verdict("accept", {
    headerEdits: [{ tag: "add", val: { name: "X-Word-Checked", value: "yes" } }],
  });
}
