package main

import (
	"context"
	"fmt"
	"log"

	"twotower"
)

func main() {
	ratings, movies, err := twotower.LoadMovieLens("../shared/data/ml-100k")
	if err != nil {
		log.Fatal(err)
	}
	defer ratings.Close() // Tables and Models hold C memory: Close them
	defer movies.Close()
	model, err := twotower.NewModelFromFile("samples/movielens/deep-32.json")
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	// Cancelling the context stops training; the model then keeps what it had.
	metrics, err := model.Train(context.Background(), ratings, movies, &twotower.TrainOptions{
		Epochs: 5,
		Progress: func(p twotower.Progress) {
			if p.EpochDone {
				fmt.Printf("epoch %d/%d: loss %.4f\n", p.Epoch, p.Epochs, p.Loss)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	top100, _ := metrics.At(100)
	fmt.Printf("top-100 accuracy %.4f\n", top100)

	if err := model.Save("movielens.tt", nil); err != nil {
		log.Fatal(err)
	}
	served, err := twotower.Load("movielens.tt")
	if err != nil {
		log.Fatal(err)
	}
	defer served.Close()
	query, err := twotower.NewTableFromColumns(map[string]any{
		"user_id": []string{"42"}, "timestamp": []int64{879024327}})
	if err != nil {
		log.Fatal(err)
	}
	defer query.Close()
	results, err := served.Query(query, &twotower.QueryOptions{K: 10})
	if err != nil {
		log.Fatal(err)
	}
	titles, err := served.CandidateKeys(results[0].IDs)
	if err != nil {
		log.Fatal(err)
	}
	for i, title := range titles {
		fmt.Printf("%7.3f  %s\n", results[0].Scores[i], title)
	}
}
