//! Conversion: convert, quantize, strip, precision, topk_overlap, export and import.
mod common;

use common::*;
use twotower::{
    convert, ConvertOptions, ExportOptions, ImportOptions, Model, Precision, Precisions, SaveOptions, Status,
};

fn own_copy() -> Model {
    Model::from_bytes(&trained().0.to_bytes().unwrap()).unwrap()
}

fn all_users() -> twotower::Table {
    user_queries(&(0..USERS).collect::<Vec<_>>())
}

fn precisions(index: Precision, weights: Precision) -> Precisions {
    Precisions { index, weights }
}

fn data_fingerprint(model: &Model) -> bool {
    // The metadata holds "data_fingerprint": "<hex>" after training; stripped, it is empty.
    let meta = model.metadata_json().unwrap();
    meta.contains("\"data_fingerprint\"") && !meta.contains("\"data_fingerprint\": \"\"")
}

#[test]
fn quantize_int8_reports_int8_and_saves_a_smaller_file() {
    let (model, _) = trained();
    assert_eq!(model.precision().unwrap(), precisions(Precision::Float32, Precision::Float32));
    let mut own = own_copy();
    own.quantize(Some(Precision::Int8), Some(Precision::Int8)).unwrap();
    assert_eq!(own.precision().unwrap(), precisions(Precision::Int8, Precision::Int8));
    let dir = temp_dir("convert-quantize");
    model.save(dir.join("f32.tt")).unwrap();
    own.save(dir.join("int8.tt")).unwrap();
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len();
    assert!(size("int8.tt") * 10 < size("f32.tt") * 6, "int8 {} bytes, f32 {}", size("int8.tt"), size("f32.tt"));
    let loaded = Model::load(dir.join("int8.tt")).unwrap();
    assert_eq!(loaded.precision().unwrap(), precisions(Precision::Int8, Precision::Int8));
    let queries = all_users();
    assert_eq!(loaded.query(&queries, 5).unwrap(), own.query(&queries, 5).unwrap());
    let overlap = model.topk_overlap(&loaded, &queries, 5).unwrap();
    assert!(overlap > 0.5 && overlap <= 1.0, "{overlap}");
    assert_eq!(model.topk_overlap(model, &queries, 10).unwrap(), 1.0);
}

#[test]
fn quantize_one_part_and_strip() {
    let mut own = own_copy();
    own.quantize(None, Some(Precision::Bf16)).unwrap();
    assert_eq!(own.precision().unwrap(), precisions(Precision::Float32, Precision::Bf16));
    own.quantize(Some(Precision::Fp16), None).unwrap();
    assert_eq!(own.precision().unwrap(), precisions(Precision::Fp16, Precision::Bf16));

    let (model, _) = trained();
    let mut stripped = own_copy();
    assert!(data_fingerprint(&stripped));
    stripped.strip().unwrap();
    assert!(!data_fingerprint(&stripped), "{}", stripped.metadata_json().unwrap());
    let queries = all_users();
    assert_eq!(stripped.query(&queries, 5).unwrap(), model.query(&queries, 5).unwrap());
}

#[test]
fn precision_names() {
    for p in [Precision::Float32, Precision::Bf16, Precision::Fp16, Precision::Int8] {
        assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
    }
    assert_eq!("f32".parse::<Precision>().unwrap(), Precision::Float32);
    let err = "int4".parse::<Precision>().unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("\"int4\""), "{err}");
}

#[test]
fn convert_a_file() {
    let (model, _) = trained();
    let dir = temp_dir("convert-file");
    let (input, output) = (dir.join("in.tt"), dir.join("out.tt"));
    model.save_with(&input, &SaveOptions { include_optimizer: true, ..SaveOptions::default() }).unwrap();
    let options = ConvertOptions {
        index_precision: Some(Precision::Int8),
        weights_precision: Some(Precision::Bf16),
        strip: true,
        compression_level: 0,
        ..ConvertOptions::default()
    };
    convert(&input, &output, &options).unwrap();
    let converted = Model::load(&output).unwrap();
    assert_eq!(converted.precision().unwrap(), precisions(Precision::Int8, Precision::Bf16));
    assert!(!data_fingerprint(&converted));
    assert!(model.topk_overlap(&converted, &all_users(), 5).unwrap() > 0.5);
    // The defaults upgrade: the same answers.
    convert(&input, dir.join("same.tt"), &ConvertOptions::default()).unwrap();
    let same = Model::load(dir.join("same.tt")).unwrap();
    assert_eq!(same.precision().unwrap(), precisions(Precision::Float32, Precision::Float32));
    assert_eq!(same.query(&all_users(), 10).unwrap(), model.query(&all_users(), 10).unwrap());
}

#[test]
fn conversion_errors_carry_the_library_message() {
    let (model, _) = trained();
    let dir = temp_dir("convert-errors");
    let (input, output) = (dir.join("in.tt"), dir.join("out.tt"));
    model.save(&input).unwrap();
    let err = convert(dir.join("missing.tt"), &output, &ConvertOptions::default()).unwrap_err();
    assert_eq!(err.status(), Status::Io);
    assert!(err.message().contains("missing.tt"), "{err}");
    let err = convert(&input, &input, &ConvertOptions::default()).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("is the input file"), "{err}");
    let options = ConvertOptions { compression_level: 40, ..ConvertOptions::default() };
    let err = convert(&input, &output, &options).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("compression_level"), "{err}");
    assert!(!output.exists());

    // Models indexing different catalogues cannot be compared.
    let mut other = own_copy();
    other.rebuild_index(&catalogue(&[0, 1])).unwrap();
    let err = model.topk_overlap(&other, &all_users(), 5).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("candidate"), "{err}");
    let err = model.topk_overlap(model, &all_users(), 0).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument, "{err}");
}

#[test]
fn export_then_import_answers_identically() {
    let (model, _) = trained();
    let dir = temp_dir("convert-export").join("export");
    let queries = user_queries(&[0, 1, 2]);
    model.export(&dir, &ExportOptions { queries: Some(&queries), ..ExportOptions::default() }).unwrap();
    for name in [
        "candidate_embeddings.npy",
        "candidate_embeddings.fvecs",
        "candidate_keys.txt",
        "query_embeddings.npy",
        "query_embeddings.fvecs",
        "weights.safetensors",
        "spec.json",
        "preprocessing.json",
    ] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    // .fvecs: per row an int32 dimension then that many float32.
    let dim = model.embedding_dim().unwrap() as u64;
    assert_eq!(std::fs::metadata(dir.join("query_embeddings.fvecs")).unwrap().len(), 3 * (4 + 4 * dim));
    let imported = Model::import(&dir, &ImportOptions::default()).unwrap();
    let all = all_users();
    assert_eq!(imported.query(&all, 10).unwrap(), model.query(&all, 10).unwrap());
    assert_eq!(model.topk_overlap(&imported, &all, 10).unwrap(), 1.0);
}

#[test]
fn export_options_and_import_from_a_catalogue() {
    let (model, _) = trained();
    let (interactions, candidates) = synthetic_tables();
    let dir = temp_dir("convert-export-options");
    let options = ExportOptions { npy: false, candidates: false, ..ExportOptions::default() };
    model.export(&dir, &options).unwrap();
    for name in ["candidate_embeddings.npy", "candidate_embeddings.fvecs", "candidate_keys.txt"] {
        assert!(!dir.join(name).exists(), "{name}");
    }
    let err = Model::import(&dir, &ImportOptions::default()).unwrap_err();
    assert!(err.message().contains("candidate"), "{err}");
    let imported = Model::import_files(&ImportOptions {
        spec_path: Some(dir.join("spec.json")),
        preprocessing_path: Some(dir.join("preprocessing.json")),
        weights_path: Some(dir.join("weights.safetensors")),
        candidates: Some(&candidates),
        interactions: Some(&interactions),
        threads: 1,
    })
    .unwrap();
    assert_eq!(imported.num_candidates().unwrap(), ITEMS);
    assert!(model.topk_overlap(&imported, &all_users(), 5).unwrap() >= 0.99);
}

#[test]
fn import_errors() {
    let dir = temp_dir("convert-import-errors");
    let err = Model::import(dir.join("nowhere"), &ImportOptions::default()).unwrap_err();
    assert_eq!(err.status(), Status::Io);
    assert!(err.message().contains("nowhere"), "{err}");
    let err = Model::import_files(&ImportOptions::default()).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(err.message().contains("directory is NULL"), "{err}");
    let err = Model::import(&dir, &ImportOptions::default()).unwrap_err();
    assert!(err.message().contains("spec.json"), "{err}");
}
