package natsbus

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// verdict is what the receiver does with a message before any handler
// runs.
type verdict int

const (
	admit    verdict = iota // emit its event on the local bus
	notAsked                // acknowledge it: a topic this node does not receive
	ownEvent                // acknowledge it: this node's own, handled when emitted
	refuse                  // terminate and report it: not an event of its subject's topic
)

// judge reads the message on subject with header and data: the event it
// carries, and what the receiver must do with it, with the reason when it
// refuses it. The topic is the subject's: NATS permissions are per
// subject, so a client allowed to publish only on some subjects cannot
// pass its messages off as events of others. judge calls no server and
// changes nothing, so that its rules are tested on their own.
func (br *Bridge) judge(subject string, header map[string][]string, data []byte) (wireEvent, verdict, error) {
	topic := strings.TrimPrefix(subject, br.cfg.Prefix+".")
	w, err := parseEvent(header, data)
	switch {
	case err != nil:
		return w, refuse, err
	case w.topic != topic:
		return w, refuse, fmt.Errorf("event %s has type %q, not the subject's topic: refused", w.id, w.topic)
	case !br.receiveRE.MatchString(topic):
		return w, notAsked, nil // the server could not filter it out
	case br.publishes(topic) && br.ids.own(first(header, jetstream.MsgIDHeader), w.id):
		return w, ownEvent, nil
	case w.contentType != "" && br.contentType != "" && mediaType(w.contentType) != mediaType(br.contentType):
		return w, refuse, fmt.Errorf("event %s has datacontenttype %q; the codec decodes %s", w.id, w.contentType, br.contentType)
	}
	return w, admit, nil
}
