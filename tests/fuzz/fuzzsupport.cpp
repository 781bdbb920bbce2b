#include "fuzzsupport.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QLoggingCategory>
#include <QSet>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

using namespace Qt::StringLiterals;

namespace Swamp::Fuzz {

namespace {

void quietMessages(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type == QtFatalMsg) {
        std::fprintf(stderr, "%s\n", qPrintable(message));
        std::abort();
    }
    // Swamp's operator-facing warnings are expected under fuzzing; Qt's are printed once each.
    if (QByteArrayView(context.category ? context.category : "").startsWith("swamp"))
        return;
    static QSet<QString> seen;
    if (seen.size() < 1000 && !seen.contains(message)) {
        seen.insert(message);
        std::fprintf(stderr, "qt: %s\n", qPrintable(message));
    }
}

} // namespace

void finding(const char *what)
{
    std::fprintf(stderr, "==fuzz== %s\n", what);
    std::abort();
}

bool pumpUntil(const std::function<bool()> &done, int timeoutMs)
{
    if (done())
        return true;
    // WaitForMoreEvents returns at the deadline at the latest (a coarse or single-shot timer
    // could fire before it, and the loop would then wait for an event that never comes).
    QTimer wake;
    wake.setTimerType(Qt::PreciseTimer);
    wake.start(timeoutMs);
    const QDeadlineTimer deadline(timeoutMs);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

void deleteLaterNow()
{
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

void initialize(int *argc, char ***argv)
{
    // Never destroyed: the fixtures' objects live until the process exits.
    static QCoreApplication *application = new QCoreApplication(*argc, *argv);
    Q_UNUSED(application);
    QLoggingCategory::setFilterRules(u"swamp.*=false"_s);
    qInstallMessageHandler(quietMessages);
}

QList<QByteArray> lines(QByteArrayView input, qsizetype maxLines)
{
    QList<QByteArray> list;
    qsizetype start = 0;
    while (start <= input.size() && list.size() < maxLines) {
        qsizetype end = input.indexOf('\n', start);
        if (end < 0)
            end = input.size();
        list << input.sliced(start, end - start).toByteArray();
        start = end + 1;
    }
    return list;
}

quint32 nextSourceAddress()
{
    // 127.1.0.1 to 127.254.255.254: a few million before one comes back.
    static quint32 counter = 0;
    const quint32 n = counter++;
    if (n == 0)
        return 0x7f000001;
    const quint32 host = n % (254u * 65536u);
    return 0x7f000000 | ((1 + host / 65536u) << 16) | ((host / 256u % 256u) << 8) |
           std::max(1u, host % 256u);
}

} // namespace Swamp::Fuzz
