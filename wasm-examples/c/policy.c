// The word policy in C: quarantine a message whose Subject contains the setting `word`, with
// the reason `subject matched`; otherwise accept it and add `X-Word-Checked: yes`. The match is
// case-sensitive; without the setting, or with an empty one, nothing matches.
//
// policy.h is what `wit-bindgen c` generates for the policy world (build.sh writes it).

#define _GNU_SOURCE // memmem
#include <stdlib.h>
#include <string.h>

#include "policy.h"

// Whether `text` contains `part`. Component strings are not NUL-terminated: compare bytes.
static bool contains(const policy_string_t *text, const policy_string_t *part) {
    return memmem(text->ptr, text->len, part->ptr, part->len) != NULL;
}

// A verdict that quarantines, with `reason`.
static void quarantine(policy_verdict_t *verdict, const char *reason) {
    verdict->action = WASMILTER_POLICY_TYPES_ACTION_QUARANTINE;
    verdict->reason.is_some = true;
    policy_string_dup(&verdict->reason.val, reason);
}

// A verdict that accepts and adds the header `name: value`.
static void accept_with_header(policy_verdict_t *verdict, const char *name, const char *value) {
    wasmilter_policy_types_header_edit_t *edit = malloc(sizeof *edit);
    if (edit == NULL) {
        abort(); // a trap: the host applies the policy's on_error
    }
    edit->tag = WASMILTER_POLICY_TYPES_HEADER_EDIT_ADD;
    policy_string_dup(&edit->val.add.name, name);
    policy_string_dup(&edit->val.add.value, value);

    verdict->action = WASMILTER_POLICY_TYPES_ACTION_ACCEPT;
    verdict->header_edits.ptr = edit;
    verdict->header_edits.len = 1;
}

// The world's export. Everything in `verdict` must be allocated with malloc: the generated
// code frees it once the host has read it.
void exports_policy_evaluate(policy_borrow_message_t message, policy_verdict_t *verdict) {
    memset(verdict, 0, sizeof *verdict);

    policy_string_t key, word, subject;
    policy_string_set(&key, "word");
    bool has_word = wasmilter_policy_host_setting(&key, &word);
    bool has_subject = wasmilter_policy_mail_method_message_subject(message, &subject);

    // An empty word would be found in every Subject: treat it as no word at all.
    if (has_word && word.len > 0 && has_subject && contains(&subject, &word)) {
        quarantine(verdict, "subject matched");
    } else {
        accept_with_header(verdict, "X-Word-Checked", "yes");
    }

    if (has_word) {
        policy_string_free(&word);
    }
    if (has_subject) {
        policy_string_free(&subject);
    }

    // The message is lent for this call only: the handle goes back to the host before return.
    wasmilter_policy_mail_message_drop_borrow(message);
}
