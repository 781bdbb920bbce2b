// main() for a libFuzzer harness built without libFuzzer (g++, or without -DSWAMP_FUZZ=ON): runs
// every input of its checked-in seeds once, in name order (or of the files and directories given
// as arguments), so that each seed, the reproducer of every fixed finding among them, is a
// regression test of every build, the sanitized one included. Fails when it finds no input.

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStringList>

#include <cstdint>
#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

int main(int argc, char **argv)
{
    QStringList paths;
    for (int i = 1; i < argc; ++i)
        paths << QString::fromLocal8Bit(argv[i]);
    if (paths.isEmpty())
        paths << QStringLiteral(SWAMP_FUZZ_CORPUS);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    QStringList inputs;
    for (const QString &path : std::as_const(paths)) {
        if (!QFileInfo(path).isDir()) {
            inputs << path;
            continue;
        }
        const QDir directory(path);
        for (const QString &name : directory.entryList(QDir::Files, QDir::Name))
            inputs << directory.filePath(name);
    }
    for (const QString &input : std::as_const(inputs)) {
        QFile file(input);
        if (!file.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "cannot read %s\n", qPrintable(input));
            return 1;
        }
        const QByteArray data = file.readAll();
        std::fprintf(stderr, "%s\n", qPrintable(input));
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(data.constData()),
                               size_t(data.size()));
    }
    std::printf("%lld inputs replayed\n", static_cast<long long>(inputs.size()));
    return inputs.isEmpty() ? 1 : 0;
}
