// Package export_wit_world is the word policy in Go: it quarantines a message whose Subject
// contains the setting `word`, with the reason `subject matched`; otherwise it accepts the
// message and adds `X-Word-Checked: yes`. The match is case-sensitive; without the setting, or
// with an empty one, nothing matches.
//
// The package name and the function are the ones wit-bindgen's Go generator expects for the
// world's export `evaluate`; the other packages are the generated bindings (see build.sh).
package export_wit_world

import (
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"

	host "wit_component/wasmilter_policy_host"
	mail "wit_component/wasmilter_policy_mail"
	types "wit_component/wasmilter_policy_types"
)

// Evaluate decides what happens to one message.
func Evaluate(message *mail.Message) types.Verdict {
	// The message is lent for this call only: the handle goes back to the host on return.
	defer message.Drop()

	// An empty word would be found in every Subject: treat it as no word at all.
	word := host.Setting("word").SomeOr("")
	subject := message.Subject().SomeOr("")

	if word != "" && strings.Contains(subject, word) {
		return types.Verdict{
			Action: types.Action_Quarantine,
			Reason: witTypes.Some("subject matched"),
		}
	}
	return types.Verdict{
		Action: types.Action_Accept,
		HeaderEdits: []types.HeaderEdit{
			types.MakeHeaderEditAdd(types.Header{Name: "X-Word-Checked", Value: "yes"}),
		},
	}
}
