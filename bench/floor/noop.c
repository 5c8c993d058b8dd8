/* noop: the smallest possible child for the spawn floor.
 * Built with `gcc -O2 -static` so that exec costs no dynamic linking. */
int main(void) { return 0; }
