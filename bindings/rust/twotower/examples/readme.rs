use std::ops::ControlFlow;
use twotower::{load_movielens, Model, Table, TrainOptions};

fn main() -> Result<(), twotower::Error> {
    let (ratings, movies) = load_movielens("../shared/data/ml-100k")?;
    let mut model = Model::from_spec_file("samples/movielens/deep-32.json")?;
    let options = TrainOptions::new().epochs(5).progress(|p| {
        if p.epoch_done() {
            println!("epoch {}/{}: loss {:.4}", p.epoch, p.epochs, p.loss.unwrap());
        }
        ControlFlow::Continue(()) // ControlFlow::Break(()) cancels
    });
    let metrics = model.train(&ratings, &movies, options)?;
    println!("top-100 accuracy {:.4}", metrics.accuracy(100).unwrap());

    model.save("movielens.tt")?;
    let served = Model::load("movielens.tt")?;
    let query = Table::builder().strings("user_id", &["42"]).int64("timestamp", &[879024327]).build()?;
    for hit in &served.query(&query, 10)?[0] {
        println!("{:7.3}  {}", hit.score, served.candidate_key(hit.id)?);
    }
    Ok(())
}
