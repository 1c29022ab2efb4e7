#pragma once
// The neighbour search behind t-SNE's affinities: the k nearest other rows of
// every row with their squared distances, as scikit-learn 1.2 hands them to
// _joint_probabilities_nn (euclidean distances rounded to float32 for float32
// data, then squared in float32).
#include <cstdint>
#include <vector>

#include "scanpp/core/array.hpp"

namespace scanpp::tl {

struct TsneNeighbours {
  int64_t n = 0;
  int k = 0;
  std::vector<int32_t> index;  // n x k, row-major, nearest first (ties by index)
  std::vector<float> sq;       // n x k squared distances
};

// Exact search for n < 8192 (what pp.neighbors would do): the same ranking
// keys as pp::knn's exact search (|x|² − 2 x·y + |y|² in double, clipped at
// 0, the dot products summed in dimension order), so the same neighbours and
// distances, but each row's k smallest are selected with nth_element over
// the row's keys rather than a heap. Larger data: pp::knn's NN-descent with
// 30 candidates a round. ValueError for a bad shape or k; InputError for
// non-finite values.
TsneNeighbours tsne_neighbours(const Array& X, int k);

}  // namespace scanpp::tl
