package bus_test

import (
	"context"
	"errors"
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
	mustRegister(t, b, "orders", &bus.Handler{Matcher: "order", Handle: bus.Typed(func(_ *bus.Event, o order) {
		got = append(got, o)
	})})
	var ptrs []*order
	mustRegister(t, b, "pointers", &bus.Handler{Matcher: "order", Handle: bus.Typed(func(_ *bus.Event, o *order) {
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
