package natsbus

// LoseAcknowledgements makes a pipelined bridge deaf to the stream's
// acknowledgements from now on, as a reconnect does to those under way.
func LoseAcknowledgements(br *Bridge) error { return br.pub.(*pipeline).sub.Unsubscribe() }
