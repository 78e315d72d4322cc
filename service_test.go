package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/bustest"
)

// TestOrderService shows how to test a service that emits events, in the
// dependency-injected style of Example_dependencyInjection: give it a bus
// of its own and record what reaches the bus with bustest.
func TestOrderService(t *testing.T) {
	b, err := bus.NewBus(&counter{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewOrderService(b)
	if err != nil {
		t.Fatal(err)
	}
	created := bustest.Record(t, b, `^order\.created$`)

	ctx := context.WithValue(context.Background(), bus.CtxKeyTxID, "checkout-7")
	if err := svc.Create(ctx, Order{"A-42", 990}); err != nil {
		t.Fatal(err)
	}

	e := created.Wait(1, time.Second)[0]
	if got, want := e.Data, (Order{"A-42", 990}); got != want {
		t.Errorf("order.created carries %v; want %v", got, want)
	}
	if e.TxID != "checkout-7" {
		t.Errorf("order.created TxID = %q; want the caller's, checkout-7", e.TxID)
	}
}
