// libjpeg-turbo from Debian's libjpeg-dev (libjpeg62-turbo-dev).
#include <stdio.h>
#include <stddef.h>
#include <jpeglib.h>
#include <setjmp.h>
