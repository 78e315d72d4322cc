package bus

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEmitFloor sets Emit against a floor that does only the work no
// Emit can avoid: allocate the event, make its ID, read the monotonic clock
// once and call one handler. Both run with a TxID in the context and one
// handler, with the recommended Generator and with a plain [Next] func; the
// ratio emit/floor is what Emit adds for the topic lookup, the TxID, options
// and panic isolation.
func BenchmarkEmitFloor(b *testing.B) {
	gen, err := NewGenerator(1, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	next := Next(func() string { return "id" })
	ctx := context.WithValue(context.Background(), CtxKeyTxID, "tx")
	var n atomic.Int64
	handle := func(*Event) { n.Add(1) }

	floors := []struct {
		name  string
		idgen IDGenerator
		floor func() *Event
	}{
		{"generator", gen, func() *Event {
			ew := new(eventWithID)
			ew.ID = gen.generateInto(&ew.id)
			return &ew.Event
		}},
		{"next", next, func() *Event { return &Event{ID: next()} }},
	}
	for _, f := range floors {
		b.Run(f.name+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e := f.floor()
				e.Topic, e.ctx = "order.created", ctx
				e.OccurredAt = now()
				handle(e)
			}
		})
		b.Run(f.name+"/emit", func(b *testing.B) {
			bs, err := NewBus(f.idgen)
			if err != nil {
				b.Fatal(err)
			}
			if err := bs.RegisterTopics("order.created"); err != nil {
				b.Fatal(err)
			}
			if err := bs.RegisterHandler("h", &Handler{Matcher: ".*", Handle: handle}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				bs.Emit(ctx, "order.created", nil)
			}
		})
	}
}
