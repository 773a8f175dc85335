// Command pstest-server serves Google's in-memory Pub/Sub test server (pstest) on a loopback port.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	port := flag.Int("port", 0, "loopback port (0: any free port)")
	flag.Parse()
	srv := pstest.NewServerWithPort(*port)
	fmt.Printf("listening %s\n", srv.Addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = srv.Close()
}
