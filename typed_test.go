package bus_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gobus/bus"
)

type order struct {
	ID    string
	Cents int
}

func TestTyped(t *testing.T) {
	b, _ := newBus(t, "order.created")
	var got []order
	mustRegister(t, b, "orders", &bus.Handler{Matcher: "order", HandleErr: bus.Typed(func(_ *bus.Event, o order) {
		got = append(got, o)
	})})
	var ptrs []*order
	mustRegister(t, b, "pointers", &bus.Handler{Matcher: "order", HandleErr: bus.Typed(func(_ *bus.Event, o *order) {
		ptrs = append(ptrs, o)
	})})

	_, err := b.Emit(context.Background(), "order.created", order{"A-1", 250})
	if !errors.Is(err, bus.ErrDataType) || !strings.Contains(err.Error(), `"pointers"`) || strings.Contains(err.Error(), `"orders"`) {
		t.Errorf("Emit(order) err = %v; want ErrDataType from the pointer handler only", err)
	}
	if len(got) != 1 || got[0] != (order{"A-1", 250}) {
		t.Errorf("typed handler got %v; want [{A-1 250}]", got)
	}

	tests := []struct {
		name      string
		data      any
		wantError []string // keys of the handlers that must refuse data
	}{
		{"wrong type", "A-2", []string{"orders", "pointers"}},
		{"nil data", nil, []string{"orders"}},
		{"pointer", &order{"A-3", 1}, []string{"orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := b.Emit(context.Background(), "order.created", tt.data)
			if e == nil {
				t.Fatal("Emit returned no event")
			}
			if !errors.Is(err, bus.ErrDataType) {
				t.Fatalf("Emit(%v) err = %v; want ErrDataType", tt.data, err)
			}
			for _, key := range tt.wantError {
				if !strings.Contains(err.Error(), `handler "`+key+`"`) {
					t.Errorf("err = %q; want it to name handler %q", err, key)
				}
			}
			if want := "handler takes bus_test.order, event"; !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q; want it to contain %q", err, want)
			}
		})
	}
	if len(ptrs) != 2 || ptrs[0] != nil || ptrs[1].ID != "A-3" {
		t.Errorf("pointer handler got %v; want [nil A-3]", ptrs)
	}
}

func TestTopic(t *testing.T) {
	b, _ := newBus(t, "orderXcreated", "order.created.v2")
	created, err := bus.NewTopic[order](b, "order.created")
	if err != nil {
		t.Fatal(err)
	}
	if created.Name() != "order.created" || !slices.Contains(b.Topics(), "order.created") {
		t.Fatalf("NewTopic did not register order.created: Topics() = %q", b.Topics())
	}
	var got []order
	if err := created.Handle("mailer", func(_ *bus.Event, o order) { got = append(got, o) }); err != nil {
		t.Fatal(err)
	}
	if subs := b.HandlerTopicSubscriptions("mailer"); !slices.Equal(subs, []string{"order.created"}) {
		t.Errorf("typed handler subscribes to %q; want exactly order.created", subs)
	}
	var untyped []any
	mustRegister(t, b, "audit", &bus.Handler{Matcher: "*", Handle: func(e *bus.Event) { untyped = append(untyped, e.Data) }})

	e, err := created.Emit(context.Background(), order{"A-1", 250}, bus.WithSource("shop"))
	if err != nil || e.Topic != "order.created" || e.Source != "shop" {
		t.Fatalf("Emit() = %+v, %v; want an event on order.created from shop", e, err)
	}
	if len(got) != 1 || got[0] != (order{"A-1", 250}) {
		t.Errorf("typed handler got %v; want [{A-1 250}]", got)
	}
	if len(untyped) != 1 || untyped[0] != (order{"A-1", 250}) {
		t.Errorf("regex handler got Data %v; want the order", untyped)
	}

	// Bus.Emit can still put other data on the topic: the typed handler
	// refuses it with a returned error, not a panic.
	_, err = b.Emit(context.Background(), "order.created", "oops")
	var he *bus.HandlerError
	if !errors.Is(err, bus.ErrDataType) || !errors.As(err, &he) || he.Key != "mailer" {
		t.Errorf("Emit(string) err = %v; want a *HandlerError for mailer wrapping ErrDataType", err)
	}
	if len(got) != 1 {
		t.Errorf("typed handler was called with data of the wrong type")
	}
}

func TestTopicHandleErr(t *testing.T) {
	b, _ := newBus(t)
	paid, err := bus.NewTopic[*order](b, "order.paid")
	if err != nil {
		t.Fatal(err)
	}
	if err := paid.HandleErr("ledger", func(_ *bus.Event, o *order) error {
		if o.Cents <= 0 {
			return fmt.Errorf("order %s: amount %d", o.ID, o.Cents)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := paid.Emit(context.Background(), &order{"A-1", 100}); err != nil {
		t.Errorf("Emit(valid) err = %v; want nil", err)
	}
	_, err = paid.Emit(context.Background(), &order{"A-2", 0})
	if want := `bus: handler "ledger" failed: order A-2: amount 0`; err == nil || err.Error() != want {
		t.Errorf("Emit(invalid) err = %v; want %s", err, want)
	}
}

func TestNewTopicRefusesBadInput(t *testing.T) {
	b, _ := newBus(t)
	tests := []struct {
		name    string
		bus     *bus.Bus
		topic   string
		wantErr string
	}{
		{"nil bus", nil, "t", "bus: NewTopic with a nil *Bus"},
		{"bad name", b, " t", `bus: invalid topic " t": leading or trailing whitespace`},
		{"other type", b, "typed", `bus: wrong data type: NewTopic[int] on topic "typed", made by NewTopic[string]`},
	}
	if _, err := bus.NewTopic[string](b, "typed"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if top, err := bus.NewTopic[int](tt.bus, tt.topic); top != nil || err == nil || err.Error() != tt.wantErr {
				t.Errorf("NewTopic() = %v, %v; want nil, %s", top, err, tt.wantErr)
			}
		})
	}
	top, _ := bus.NewTopic[int](b, "t")
	for _, err := range []error{top.Handle("k", nil), top.HandleErr("k", nil)} {
		if !errors.Is(err, bus.ErrInvalidHandler) {
			t.Errorf("Handle with a nil func: err = %v; want ErrInvalidHandler", err)
		}
	}
}

// TestTopicKeysDoNotMove: a key is the bus's, so a Topic's Handle refuses a
// key another registration holds instead of unsubscribing that one.
func TestTopicKeysDoNotMove(t *testing.T) {
	b, _ := newBus(t)
	created, _ := bus.NewTopic[order](b, "order.created")
	paid, _ := bus.NewTopic[order](b, "order.paid")
	mustRegister(t, b, "audit", &bus.Handler{Matcher: "order", Handle: func(*bus.Event) {}})
	var calls []string
	record := func(name string) func(*bus.Event, order) {
		return func(*bus.Event, order) { calls = append(calls, name) }
	}
	if err := created.Handle("mailer", record("first")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		topic   *bus.Topic[order]
		key     string
		wantErr string // "" for success
	}{
		{"another topic's key", paid, "mailer", `bus: invalid handler "mailer": Handle on topic "order.paid": the key is taken by the Handle of topic "order.created"; choose another key`},
		{"a RegisterHandler key", paid, "audit", `bus: invalid handler "audit": Handle on topic "order.paid": the key is taken by RegisterHandler (matcher "order"); choose another key`},
		{"the topic's own key", created, "mailer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.topic.Handle(tt.key, record("second"))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !errors.Is(err, bus.ErrInvalidHandler)) {
				t.Errorf("Handle(%q) = %v; want %q", tt.key, err, tt.wantErr)
			}
		})
	}
	calls = nil
	created.Emit(context.Background(), order{ID: "A-1"})
	if !slices.Equal(calls, []string{"second"}) {
		t.Errorf("order.created reached %q; want the replacement only", calls)
	}
	if subs := b.HandlerTopicSubscriptions("audit"); !slices.Equal(subs, []string{"order.created", "order.paid"}) {
		t.Errorf("audit subscribes to %q; want both topics still", subs)
	}
	// RegisterHandler keeps the v1 semantics: the key is replaced.
	mustRegister(t, b, "mailer", &bus.Handler{Matcher: "paid", Handle: func(*bus.Event) {}})
	if subs := b.HandlerTopicSubscriptions("mailer"); !slices.Equal(subs, []string{"order.paid"}) {
		t.Errorf("after RegisterHandler, mailer subscribes to %q; want order.paid", subs)
	}
}

func TestDataType(t *testing.T) {
	b, _ := newBus(t, "plain")
	if _, err := bus.NewTopic[*order](b, "order.paid"); err != nil {
		t.Fatal(err)
	}
	again, err := bus.NewTopic[*order](b, "order.paid")
	if err != nil || again.Name() != "order.paid" {
		t.Fatalf("NewTopic with the same type again = %v, %v; want the topic", again, err)
	}
	// A topic registered untyped becomes typed.
	if _, err := bus.NewTopic[int](b, "plain"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		topic string
		want  reflect.Type
	}{
		{"order.paid", reflect.TypeFor[*order]()},
		{"plain", reflect.TypeFor[int]()},
		{"unknown", nil},
	}
	for _, tt := range tests {
		if got := b.DataType(tt.topic); got != tt.want {
			t.Errorf("DataType(%q) = %v; want %v", tt.topic, got, tt.want)
		}
	}
	b.DeregisterTopics("plain")
	b.RegisterTopics("plain")
	if got := b.DataType("plain"); got != nil {
		t.Errorf("DataType of a topic registered again untyped = %v; want nil", got)
	}
}
