// Package sdktest proves natsbus's wire format against a client no one
// here wrote: the CloudEvents SDK for Go and its NATS JetStream protocol.
// It is a module of its own so that natsbus's users never download the
// SDK; it holds tests only.
package sdktest
