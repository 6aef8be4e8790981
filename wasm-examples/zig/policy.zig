//! The word policy in Zig: quarantine a message whose Subject contains the setting `word`, with
//! the reason `subject matched`; otherwise accept it and add `X-Word-Checked: yes`. The match is
//! case-sensitive; without the setting, or with an empty one, nothing matches.
//!
//! `bindings` is `zig translate-c` of the header `wit-bindgen c` generates for the policy world;
//! the generated C beside it does the canonical ABI work (see build.sh).

const std = @import("std");
const c = @import("bindings");

/// The bytes of a component string (not NUL-terminated).
fn bytes(string: c.policy_string_t) []const u8 {
    if (string.len == 0) return "";
    return string.ptr[0..string.len];
}

/// A verdict that quarantines, with `reason`.
fn quarantine(verdict: *c.policy_verdict_t, reason: [*:0]const u8) void {
    verdict.action = c.WASMILTER_POLICY_TYPES_ACTION_QUARANTINE;
    verdict.reason.is_some = true;
    c.policy_string_dup(&verdict.reason.val, reason);
}

/// A verdict that accepts and adds the header `name: value`.
fn acceptWithHeader(verdict: *c.policy_verdict_t, name: [*:0]const u8, value: [*:0]const u8) void {
    // malloc, not a Zig allocator: the generated code frees the verdict with free().
    const memory = std.c.malloc(@sizeOf(c.wasmilter_policy_types_header_edit_t)) orelse @trap();
    const edit: *c.wasmilter_policy_types_header_edit_t = @ptrCast(@alignCast(memory));
    edit.tag = c.WASMILTER_POLICY_TYPES_HEADER_EDIT_ADD;
    c.policy_string_dup(&edit.val.add.name, name);
    c.policy_string_dup(&edit.val.add.value, value);

    verdict.action = c.WASMILTER_POLICY_TYPES_ACTION_ACCEPT;
    verdict.header_edits.ptr = edit;
    verdict.header_edits.len = 1;
}

/// The world's export, called by the generated C.
export fn exports_policy_evaluate(message: c.policy_borrow_message_t, verdict: *c.policy_verdict_t) void {
    verdict.* = std.mem.zeroes(c.policy_verdict_t);

    // The message is lent for this call only: the handle goes back to the host before return.
    defer c.wasmilter_policy_mail_message_drop_borrow(message);

    var key: c.policy_string_t = undefined;
    c.policy_string_set(&key, "word");
    var word: c.policy_string_t = undefined;
    const has_word = c.wasmilter_policy_host_setting(&key, &word);
    defer if (has_word) c.policy_string_free(&word);
    var subject: c.policy_string_t = undefined;
    const has_subject = c.wasmilter_policy_mail_method_message_subject(message, &subject);
    defer if (has_subject) c.policy_string_free(&subject);

    // An empty word would be found in every Subject: treat it as no word at all.
    const matched = has_word and word.len > 0 and has_subject and
        std.mem.indexOf(u8, bytes(subject), bytes(word)) != null;
    if (matched) {
        quarantine(verdict, "subject matched");
    } else {
        acceptWithHeader(verdict, "X-Word-Checked", "yes");
    }
}
