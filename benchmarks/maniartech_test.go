package benchmarks

import (
	"context"

	"github.com/maniartech/signals"
)

// maniartechLib drives github.com/maniartech/signals: a typed synchronous
// signal per topic; no patterns, no IDs.
var maniartechLib = library{
	name: "maniartech.signals",
	fanout: func(n int, deliver func()) (func(context.Context), func()) {
		s := signals.NewSync[string]()
		for range n {
			s.AddListener(func(context.Context, string) { deliver() })
		}
		return func(ctx context.Context) { s.Emit(ctx, "data") }, func() {}
	},
}
