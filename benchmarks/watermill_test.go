package benchmarks

import (
	"context"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// watermillLib drives the in-memory gochannel Pub/Sub of
// github.com/ThreeDotsLabs/watermill: asynchronous, a goroutine per
// subscriber that waits for each message's Ack; messages carry an ID (from
// the same counter generator as the others).
var watermillLib = library{
	name:  "ThreeDotsLabs.watermill",
	async: true,
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		ps := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, watermill.NopLogger{})
		var c consumers
		for range n {
			msgs, err := ps.Subscribe(context.Background(), "order.created")
			if err != nil {
				panic(err)
			}
			consume(&c, msgs, func(m *message.Message) { deliver(); m.Ack() })
		}
		ids := counterIDs()
		payload := message.Payload("data")
		return func(context.Context) {
				ps.Publish("order.created", message.NewMessage(ids.Generate(), payload))
			}, func() {
				ps.Close()
				c.wait()
			}
	},
}
