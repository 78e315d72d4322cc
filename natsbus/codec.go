package natsbus

import (
	"encoding/json"
	"reflect"
)

// A Codec turns event data into message payloads and back. It must be safe
// for concurrent use. ContentType names the payload's media type, such as
// "application/json": the bridge sends it as the CloudEvent's
// datacontenttype, and refuses a received event whose datacontenttype
// names another. It may be "" for a codec that does not say; the bridge
// then sends none and refuses none.
type Codec interface {
	Encode(topic string, data any) ([]byte, error)
	Decode(topic string, payload []byte) (any, error)
	ContentType() string
}

// JSON is the default [Codec]. Decode returns, for a topic listed in Types,
// a value of that type (not a pointer to it); for a typed topic of the
// bridge's bus (made with bus.NewTopic, see [bus.Bus.DataType]), a value of
// the topic's type; so typed handlers receive what the emitter sent. For
// other topics it returns what encoding/json decodes into an any: maps,
// slices, strings, float64s, bools and nil.
type JSON struct {
	Types map[string]reflect.Type

	typeOf func(topic string) reflect.Type // the bus's DataType, set by New
}

// ContentType returns "application/json".
func (JSON) ContentType() string { return "application/json" }

// Encode returns data as JSON.
func (JSON) Encode(_ string, data any) ([]byte, error) { return json.Marshal(data) }

// Decode parses payload as JSON. An empty payload, from a CloudEvent
// without data, is no data: nil, or the zero value of the topic's type.
func (c JSON) Decode(topic string, payload []byte) (any, error) {
	t, ok := c.Types[topic]
	if !ok && c.typeOf != nil {
		t = c.typeOf(topic)
		ok = t != nil
	}
	switch {
	case len(payload) == 0 && ok:
		return reflect.Zero(t).Interface(), nil
	case len(payload) == 0:
		return nil, nil
	case !ok:
		var v any
		err := json.Unmarshal(payload, &v)
		return v, err
	}
	p := reflect.New(t)
	if err := json.Unmarshal(payload, p.Interface()); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
}
