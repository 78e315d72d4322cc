// Package benchmarks contains only benchmarks comparing github.com/gobus/bus
// with other Go event buses. It is a separate module so that the libraries
// it compares never become dependencies of the bus itself.
//
// Every library runs the same workload: handlers do a small real piece of
// work (an atomic add), and each benchmark checks after its loop that exactly
// the expected number of deliveries happened. For asynchronous libraries,
// waiting for delivery is inside the timed region. Run the whole comparison
// with ./run, which prints a benchstat table.
package benchmarks
