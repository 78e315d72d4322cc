// Command demo runs a small shop on the bus: a stream of orders is created,
// then paid or cancelled, and three consumers — a counter per topic, a
// printer of every event and a calculator of order amounts — follow it.
//
//	go run ./demo -orders 10
//	go run ./demo -view localhost:8080   # then open the printed URL
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/demo/consumers"
	"github.com/gobus/bus/demo/events"
)

func main() {
	orders := flag.Int("orders", 8, "number of orders to create")
	seed := flag.Uint64("seed", 1, "seed of the order stream")
	quiet := flag.Bool("quiet", false, "print only the summary, not every event")
	view := flag.String("view", "", "serve a live view of the bus at this address, such as localhost:8080, and keep emitting an order a second until interrupted")
	flag.Parse()
	if *orders < 0 {
		fmt.Fprintln(os.Stderr, "demo: -orders must not be negative")
		os.Exit(2)
	}
	if err := run(os.Stdout, *orders, *seed, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if *view != "" {
		if err := serveView(*view, *seed, *orders+1); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
	}
}

// serveView serves the bus's live view at addr and emits an order a second,
// numbered from next on, until the process is interrupted.
func serveView(addr string, seed uint64, next int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/bus", events.View.Handler(events.Bus))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("\nlive view: http://%s/debug/bus (JSON: ?format=json); Ctrl-C to stop\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return srv.Shutdown(context.Background())
		case <-tick.C:
			if _, err := emitOrders(next, 1, rng); err != nil {
				return err
			}
			next++
		}
	}
}

func run(w io.Writer, orders int, seed uint64, quiet bool) error {
	counter := &consumers.Counter{}
	calc := &consumers.Calculator{}
	printOut := w
	if quiet {
		printOut = io.Discard
	}
	printer := &consumers.Printer{W: printOut}

	// The printer and the counter see every event; the calculator only
	// order events.
	for _, s := range []struct {
		key, matcher string
		handle       func(*bus.Event)
	}{
		{"printer", ".*", printer.Handle},
		{"counter", ".*", counter.Handle},
		{"calculator", `^order\.`, calc.Handle},
	} {
		if err := events.Subscribe(s.key, s.matcher, s.handle); err != nil {
			return err
		}
	}

	start := time.Now()
	emitted, err := emitOrders(1, orders, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	fmt.Fprintf(w, "\n%d events in %v\n\nEvents per topic:\n", emitted, elapsed.Round(time.Microsecond))
	counter.Report(w)
	fmt.Fprintln(w, "\nOrder amounts:")
	calc.Report(w)
	return nil
}

var customers = []string{"ada", "grace", "linus", "rob", "ken"}

// emitOrders creates n orders, numbered from first on; each is then paid,
// cancelled or left open. The follow-up event joins the transaction its
// order started.
func emitOrders(first, n int, rng *rand.Rand) (int, error) {
	emitted := 0
	for i := first; i < first+n; i++ {
		o := events.Order{
			ID:       fmt.Sprintf("A-%04d", i),
			Customer: customers[rng.IntN(len(customers))],
			Cents:    500 + rng.Int64N(20_000),
		}
		created, err := events.Emit(context.Background(), events.OrderCreated, o)
		if err != nil {
			return emitted, err
		}
		emitted++

		var next string
		switch p := rng.IntN(10); {
		case p < 7:
			next = events.OrderPaid
		case p < 9:
			next = events.OrderCancelled
		default:
			continue // left open
		}
		if _, err := events.Emit(created.Context(), next, o); err != nil {
			return emitted, err
		}
		emitted++
	}
	return emitted, nil
}
