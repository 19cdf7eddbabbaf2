// Command relay is the push relay that a PushService runs. The relay issue fills it in.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: relay --config FILE")
		flag.PrintDefaults()
	}
	flag.String("config", "", "path of the relay configuration file")
	flag.Parse()
	fmt.Fprintln(os.Stderr, "relay: not implemented yet")
	os.Exit(1)
}
