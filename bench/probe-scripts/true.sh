printf '\n@@rprov-0x0-end\n'
