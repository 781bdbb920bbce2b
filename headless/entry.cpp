int swampMain(int argc, char **argv); int main(int argc, char **argv) { return swampMain(argc, argv); }
