// train trains a twotower model on MovieLens 100k with the Go binding and saves it, for
// recommend-server to serve. Ctrl-C stops training cleanly (through a context.Context) and
// saves nothing.
//
//	train [-data DIR] [-spec FILE] [-epochs N] [-seed S] -out FILE
//
// -data defaults to $TWOTOWER_DATA; -spec to samples/movielens/deep-32.json of this repository.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"

	"twotower"
)

func main() {
	data := flag.String("data", "", "MovieLens 100k directory (default: $TWOTOWER_DATA)")
	spec := flag.String("spec", defaultSpec(), "model spec (JSON)")
	epochs := flag.Int("epochs", 0, "epochs (0: the spec's)")
	seed := flag.Int64("seed", -1, "shuffling seed (-1: the spec's)")
	out := flag.String("out", "", "where to save the trained model (required)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := train(ctx, *data, *spec, *epochs, *seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func train(ctx context.Context, data, spec string, epochs int, seed int64, out string) error {
	fmt.Printf("twotower %s\n", twotower.LibraryVersion())
	ratings, movies, err := twotower.LoadMovieLens(data)
	if err != nil {
		return err
	}
	defer ratings.Close()
	defer movies.Close()

	model, err := twotower.NewModelFromFile(spec)
	if err != nil {
		return err
	}
	defer model.Close()
	opts := &twotower.TrainOptions{Epochs: epochs, Progress: func(p twotower.Progress) {
		if !p.EpochDone {
			return
		}
		line := fmt.Sprintf("epoch %3d/%d  loss %.4f", p.Epoch, p.Epochs, p.Loss)
		if p.Metrics != nil {
			top100, _ := p.Metrics.At(100)
			line += fmt.Sprintf("  top-100 %.4f", top100)
		}
		fmt.Println(line)
	}}
	if seed >= 0 {
		opts.Seed, opts.SeedSet = uint64(seed), true
	}
	metrics, err := model.Train(ctx, ratings, movies, opts)
	if err != nil {
		return err
	}
	fmt.Println(metrics)
	if err := model.Save(out, nil); err != nil {
		return err
	}
	fmt.Printf("saved %s\n", out)
	return nil
}

// defaultSpec is samples/movielens/deep-32.json, found from this source file's directory
// when run inside the repository, else relative to the working directory.
func defaultSpec() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", "movielens", "deep-32.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("samples", "movielens", "deep-32.json")
}
