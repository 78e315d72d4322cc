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
	gen, _ := bus.NewGenerator(1, time.Time{})
	b, _ := bus.NewBus(gen)
	svc, _ := NewOrderService(b)
	created := bustest.Record(t, b, `^order\.created$`)

	ctx := context.WithValue(context.Background(), bus.CtxKeyTxID, "checkout-7")
	if err := svc.Create(ctx, Order{"A-42", 990}); err != nil {
		t.Fatal(err)
	}

	e := created.Wait(1, time.Second)[0] // fails the test after a second
	if e.Data != (Order{"A-42", 990}) || e.TxID != "checkout-7" {
		t.Errorf("order.created carries %v in %s; want A-42 in checkout-7", e.Data, e.TxID)
	}
}
