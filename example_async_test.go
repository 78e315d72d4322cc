package bus_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/gobus/bus"
)

// Slow work runs on an Async handler's workers; Wait is the point where
// the emitter knows it is done.
func ExampleAsync() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("image.uploaded")

	var thumbnails atomic.Int64
	resizer := bus.NewAsync("resizer", func(e *bus.Event) {
		thumbnails.Add(1) // stands for slow work
	}, &bus.AsyncOptions{Workers: 4, QueueSize: 100})
	defer resizer.Close(context.Background())
	b.RegisterHandler("resizer", &bus.Handler{Matcher: "^image\\.", HandleErr: resizer.HandleErr})

	for range 10 {
		b.Emit(context.Background(), "image.uploaded", "cat.png")
	}
	resizer.Wait(context.Background())
	fmt.Println(thumbnails.Load(), "thumbnails")
	fmt.Printf("%+v\n", resizer.Stats())
	// Output:
	// 10 thumbnails
	// {Queued:10 Handled:10 Failed:0 Panicked:0 Dropped:0}
}

type Payment struct {
	Order string
	Cents int
}

// A typed handler receives the event's data as its own type; data of any
// other type is refused, and the emitter learns of it.
func ExampleTyped() {
	b, _ := bus.NewBus(sequence())
	b.RegisterTopics("payment.captured")
	b.RegisterHandler("ledger", &bus.Handler{
		Matcher: "^payment\\.",
		HandleErr: bus.Typed(func(e *bus.Event, p Payment) {
			fmt.Printf("ledger: %s paid %d cents\n", p.Order, p.Cents)
		}),
	})

	b.Emit(context.Background(), "payment.captured", Payment{Order: "A-7", Cents: 1250})
	_, err := b.Emit(context.Background(), "payment.captured", "A-8")
	fmt.Println(err)
	// Output:
	// ledger: A-7 paid 1250 cents
	// bus: handler "ledger" failed: bus: wrong data type: handler takes bus_test.Payment, event 2 on payment.captured carries string
}

// User is the data of the user events in these examples.
type User struct{ Name string }

// An Async handler between Emit and slow work, with its join point and
// its graceful stop.
func ExampleNewAsync() {
	ctx := context.Background()
	b := must(bus.NewBus(sequence()))
	b.RegisterTopics("user.signed_up")
	sendMail := func(e *bus.Event) { fmt.Println("welcome mail to", e.Data.(User).Name) }
	u := User{Name: "ada"}

	mailer := bus.NewAsync("mailer", sendMail, &bus.AsyncOptions{Workers: 4, QueueSize: 256})
	b.RegisterHandler("mailer", &bus.Handler{Matcher: `^user\.`, HandleErr: mailer.HandleErr})

	b.Emit(ctx, "user.signed_up", u)
	mailer.Wait(ctx)  // join point: every event queued so far is handled
	mailer.Close(ctx) // stop intake, drain, stop the workers

	fmt.Printf("%+v\n", mailer.Stats())
	// Output:
	// welcome mail to ada
	// {Queued:1 Handled:1 Failed:0 Panicked:0 Dropped:0}
}
