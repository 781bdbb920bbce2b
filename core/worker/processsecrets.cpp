#include "worker/processsecrets.h"

#include <QList>

#include <cstdlib>
#include <cstring>
#include <sys/prctl.h>

extern char **environ;

namespace Swamp {

namespace {
int g_argc = 0;
char **g_argv = nullptr;

// Overwrites each occurrence of `secret` in the NUL-terminated `text` with 'x'; true if any.
bool overwrite(char *text, const QByteArray &secret)
{
    bool found = false;
    for (char *at = std::strstr(text, secret.constData()); at; at = std::strstr(at, secret.constData())) {
        std::memset(at, 'x', size_t(secret.size()));
        found = true;
    }
    return found;
}
} // namespace

void rememberProcessArguments(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
}

void eraseFromProcess(const QByteArray &secret)
{
    if (secret.isEmpty())
        return;
    for (int i = 0; i < g_argc && g_argv; ++i)
        overwrite(g_argv[i], secret);
    QList<QByteArray> names;
    for (char **entry = environ; entry && *entry; ++entry) {
        if (overwrite(*entry, secret)) {
            const char *eq = std::strchr(*entry, '=');
            names << (eq ? QByteArray(*entry, eq - *entry) : QByteArray(*entry));
        }
    }
    for (const QByteArray &name : std::as_const(names))
        ::unsetenv(name.constData());
}

Result<void> makeUndumpable()
{
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        return fail(QStringLiteral("dumpable"),
                    Tr::tr("cannot make the worker undumpable: %1").arg(QString::fromLocal8Bit(std::strerror(errno))),
                    Tr::tr("run it on Linux"));
    }
    return {};
}

} // namespace Swamp
