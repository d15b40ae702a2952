// oneDNN (the C API) from Debian's libdnnl-dev 2.6, used for FourM's bf16 matrix products.
#include <dnnl.h>

// Debian builds oneDNN with the OpenMP runtime (libgomp): its thread count is the calling
// thread's OpenMP setting, which FourM sets from ComputeOptions before each call.
void omp_set_num_threads(int num_threads);
