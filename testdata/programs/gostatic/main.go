// Command gostatic is a static (CGO_ENABLED=0) HTTP server used as the
// gostatic fixture image. It listens on 127.0.0.1:$PORT (default 8081).
//
//	GET /         "gostatic ok\n"
//	GET /sha256?s=TEXT  hex SHA-256 of TEXT
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8081"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "gostatic ok")
	})
	mux.HandleFunc("GET /sha256", func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.Sum256([]byte(r.URL.Query().Get("s")))
		fmt.Fprintln(w, hex.EncodeToString(sum[:]))
	})
	addr := "127.0.0.1:" + port
	log.Printf("gostatic listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
