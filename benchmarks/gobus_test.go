package benchmarks

import (
	"context"
	"time"

	"github.com/gobus/bus"
)

// generatorIDs is this bus's recommended generator.
func generatorIDs() bus.IDGenerator {
	g, err := bus.NewGenerator(1, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return g
}

type gobus struct{ b *bus.Bus }

func (g gobus) registerTopic(topic string) { g.b.RegisterTopics(topic) }

func (g gobus) registerHandler(key, matcher string, deliver func()) {
	g.b.RegisterHandler(key, &bus.Handler{Matcher: matcher, Handle: func(*bus.Event) { deliver() }})
}

func (g gobus) emit(ctx context.Context, topic string) { g.b.Emit(ctx, topic, "data") }

func gobusLib(name string, ids func() bus.IDGenerator) library {
	return regexLibrary(name, bus.CtxKeyTxID, func() regexBus {
		b, err := bus.NewBus(ids())
		if err != nil {
			panic(err)
		}
		return gobus{b}
	})
}
