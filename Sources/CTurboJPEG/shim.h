// TurboJPEG (libjpeg-turbo's error-code API; no longjmp through Swift), Debian libturbojpeg0-dev.
#include <turbojpeg.h>
