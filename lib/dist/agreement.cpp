#include "dist/agreement.h"

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "model/retrieval_model.h"
#include "model/streamed_fit.h"

namespace tt::dist {

namespace {

const char* type_name(DType t) { return t == DType::string ? "string" : t == DType::int64 ? "int64" : "float32"; }

nlohmann::json table_schema(const Table& t) {
  nlohmann::json columns = nlohmann::json::object();
  for (const Column& c : t.columns()) columns[c.name()] = type_name(c.dtype());
  return {{"columns", columns}, {"rows", t.num_rows()}, {"fingerprint", table_fingerprint(t)}};
}

nlohmann::json file_schema(const ColumnarFile& f) {
  nlohmann::json columns = nlohmann::json::object();
  for (const ColumnarColumn& c : f.columns()) columns[c.name] = type_name(c.type);
  return {{"columns", columns}, {"rows", f.num_rows()}, {"fingerprint", columnar_fingerprint(f)}};
}

// The value at a JSON pointer, shortened for a message.
std::string value_at(const nlohmann::json& j, const std::string& pointer) {
  const nlohmann::json::json_pointer p(pointer);
  if (!j.contains(p)) return "absent";
  std::string text = j.at(p).dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

}  // namespace

std::string run_description(const ModelSpec& spec, const Dataset& data) {
  const nlohmann::json d = {{"spec", nlohmann::json::parse(spec.to_json())},
                            {"interactions", table_schema(data.interactions)},
                            {"candidates", table_schema(data.candidates)}};
  return d.dump();
}

std::string run_description(const ModelSpec& spec, const ColumnarFile& interactions, const Table& candidates) {
  const nlohmann::json d = {{"spec", nlohmann::json::parse(spec.to_json())},
                            {"interactions", file_schema(interactions)},
                            {"candidates", table_schema(candidates)}};
  return d.dump();
}

void check_agreement(Communicator& comm, const std::string& description) {
  const std::vector<uint8_t> bytes(description.begin(), description.end());
  const std::vector<uint8_t> root = comm.broadcast(bytes, "start-up: rank 0's spec and data schema");
  std::string mine;
  if (comm.rank() != 0) {
    const nlohmann::json theirs = nlohmann::json::parse(root.begin(), root.end());
    const nlohmann::json ours = nlohmann::json::parse(description);
    const nlohmann::json patch = nlohmann::json::diff(theirs, ours);
    size_t shown = 0;
    for (const auto& op : patch) {
      const std::string path = op.at("path").get<std::string>();
      if (shown == 3) {
        mine += "; and " + std::to_string(patch.size() - shown) + " more";
        break;
      }
      mine += (shown++ ? "; " : "") + path + " is " + value_at(ours, path) + " on rank " + std::to_string(comm.rank()) +
              ", " + value_at(theirs, path) + " on rank 0";
    }
    if (!mine.empty()) mine = "rank " + std::to_string(comm.rank()) + " disagrees with rank 0: " + mine;
  }
  std::vector<size_t> counts;
  const std::vector<uint8_t> all =
      comm.allgatherv(std::span(reinterpret_cast<const uint8_t*>(mine.data()), mine.size()), counts,
                      "start-up: comparison of the ranks' specs");
  std::string message;
  size_t at = 0;
  for (size_t c : counts) {
    if (c) message += (message.empty() ? "" : "\n") + std::string(all.begin() + at, all.begin() + at + c);
    at += c;
  }
  if (!message.empty()) fail(ErrorKind::invalid_argument, message);
}

}  // namespace tt::dist
