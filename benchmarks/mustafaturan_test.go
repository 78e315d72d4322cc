package benchmarks

import (
	"context"
	"time"

	"github.com/gobus/bus"
	busv1 "github.com/mustafaturan/bus"
	busv3 "github.com/mustafaturan/bus/v3"
	"github.com/mustafaturan/monoton/v3"
	"github.com/mustafaturan/monoton/v3/sequencer"
)

// monotonIDs is the generator mustafaturan/bus recommends: monoton's Next.
func monotonIDs() bus.IDGenerator {
	m, err := monoton.New(sequencer.NewMillisecond(), 1, uint64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()))
	if err != nil {
		panic(err)
	}
	return bus.Next(m.Next)
}

type mustafaturanBusV1 struct{ b *busv1.Bus }

func (m mustafaturanBusV1) registerTopic(topic string) { m.b.RegisterTopics(topic) }

func (m mustafaturanBusV1) registerHandler(key, matcher string, deliver func()) {
	m.b.RegisterHandler(key, &busv1.Handler{Matcher: matcher, Handle: func(*busv1.Event) { deliver() }})
}

func (m mustafaturanBusV1) emit(ctx context.Context, topic string) { m.b.Emit(ctx, topic, "data") }

func mustafaturanV1(name string, ids func() bus.IDGenerator) library {
	return regexLibrary(name, busv1.CtxKeyTxID, func() regexBus {
		b, err := busv1.NewBus(ids())
		if err != nil {
			panic(err)
		}
		return mustafaturanBusV1{b}
	})
}

type mustafaturanBusV3 struct{ b *busv3.Bus }

func (m mustafaturanBusV3) registerTopic(topic string) { m.b.RegisterTopics(topic) }

func (m mustafaturanBusV3) registerHandler(key, matcher string, deliver func()) {
	m.b.RegisterHandler(key, busv3.Handler{Matcher: matcher, Handle: func(context.Context, busv3.Event) { deliver() }})
}

func (m mustafaturanBusV3) emit(ctx context.Context, topic string) { m.b.Emit(ctx, topic, "data") }

func mustafaturanV3(name string, ids func() bus.IDGenerator) library {
	return regexLibrary(name, busv3.CtxKeyTxID, func() regexBus {
		b, err := busv3.NewBus(ids())
		if err != nil {
			panic(err)
		}
		return mustafaturanBusV3{b}
	})
}
