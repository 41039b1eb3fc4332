/* libFuzzer target: the WebSocket frame decoder in the client role (see fuzz_ws_frame.h). */
#define FUZZ_WS_ROLE SW_WS_ROLE_CLIENT
#include "fuzz_ws_frame.h"
