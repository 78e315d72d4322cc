package events

// Order is the data of the order events.
type Order struct {
	ID    string
	Cents int
}
