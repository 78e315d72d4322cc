package natsbus

import (
	"reflect"
	"testing"
)

func TestJSONDecodeTypes(t *testing.T) {
	type order struct{ ID string }
	busTypes := map[string]reflect.Type{"typed": reflect.TypeFor[order](), "both": reflect.TypeFor[order]()}
	c := JSON{
		Types:  map[string]reflect.Type{"both": reflect.TypeFor[map[string]string]()},
		typeOf: func(topic string) reflect.Type { return busTypes[topic] },
	}
	tests := []struct {
		topic string
		want  any
	}{
		{"typed", order{ID: "A-1"}},              // the bus's type
		{"both", map[string]string{"ID": "A-1"}}, // Types wins
		{"plain", map[string]any{"ID": "A-1"}},   // what encoding/json makes of it
	}
	for _, tt := range tests {
		got, err := c.Decode(tt.topic, []byte(`{"ID":"A-1"}`))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", tt.topic, got, err, tt.want)
		}
	}
}
