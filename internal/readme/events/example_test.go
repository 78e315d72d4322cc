package events_test

import (
	"context"
	"fmt"

	"github.com/gobus/bus"
	"github.com/gobus/bus/internal/readme/events"
)

// Any package subscribes and emits through the topics of package events.
func Example() {
	ctx := context.Background()

	events.OrderCreated.Handle("mailer", func(e *bus.Event, o events.Order) {
		fmt.Println("mail about order", o.ID)
	})

	e, err := events.OrderCreated.Emit(ctx, events.Order{ID: "A-1", Cents: 990})

	fmt.Println(e.Topic, err)
	// Output:
	// mail about order A-1
	// order.created <nil>
}
