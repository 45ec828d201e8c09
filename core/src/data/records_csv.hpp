#pragma once
// What the CSV readers of detection-style records share (one row per object: boxes, instance masks): the bounded
// file with its named columns found, the classes, labels by name, and one record per image whose size comes from its
// header. Messages name the file, line and column.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "autotimm/data/coco_detection.hpp"
#include "csv.hpp"

namespace autotimm::data {

struct RecordsCsv {
  std::string file;                  ///< "<kind> CSV '<path>'": how messages start
  CsvTable table;
  std::vector<std::size_t> columns;  ///< where each requested column is, in the order requested
  std::vector<std::string> names;    ///< the requested column names

  /// "<file> line N" for row `row`, and the same with ", column '<name>'" for requested column `column`.
  std::string line(std::size_t row) const;
  std::string at(std::size_t row, std::size_t column) const;
  /// Row `row`'s field of requested column `column`.
  const std::string& field(std::size_t row, std::size_t column) const { return table.rows[row][columns[column]]; }
};

/// Reads `csv` (refused over `max_bytes`; `limit_option` names the option that raises it) and finds `columns`.
/// FormatError listing the missing columns; ConfigError for a header without rows.
RecordsCsv read_records_csv(const std::filesystem::path& csv, const std::string& kind,
                            const std::vector<std::string>& columns, std::uintmax_t max_bytes,
                            const std::string& limit_option);

/// Classes as labels in `data` (class_names, category_ids = indices): `given`, or the sorted names of requested
/// column `label_column`. Returns name → label. ConfigError naming `option` for a name given twice.
std::map<std::string, std::int64_t> take_class_names(DetectionDataset& data, const std::vector<std::string>& given,
                                                     const RecordsCsv& csv, std::size_t label_column,
                                                     const std::string& option);

/// The label of class `name`; ConfigError naming `where` with the classes and the closest name.
std::int64_t label_of(const std::map<std::string, std::int64_t>& labels, const std::vector<std::string>& classes,
                      const std::string& name, const std::string& where);

/// The images of a records CSV: each path's record, added on first sight with its size read from the header.
class RecordsByImage {
 public:
  explicit RecordsByImage(std::filesystem::path root) : root_(std::move(root)) {}
  /// `relative` under the root (the CSV's folder or the image root), unless absolute.
  std::filesystem::path resolved(const std::string& relative) const;
  /// Index into data.records of the image at `relative`; `where` (the line) prefixes a header error.
  std::size_t record_of(DetectionDataset& data, const std::string& relative, const std::string& where);

 private:
  std::filesystem::path root_;
  std::unordered_map<std::string, std::size_t> records_;  // normalised image path → its record
};

}  // namespace autotimm::data
