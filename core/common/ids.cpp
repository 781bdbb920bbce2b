#include "common/ids.h"

#include <QDateTime>
#include <QRandomGenerator>
#include <QUuid>

namespace Swamp {

QString newTimeOrderedId()
{
    // Within one millisecond a 12-bit counter (started at a random value in its lower half)
    // keeps the order; should it run out, the id borrows the next millisecond.
    thread_local qint64 lastMs = 0;
    thread_local quint16 counter = 0;
    QRandomGenerator *random = QRandomGenerator::global();
    qint64 ms = QDateTime::currentMSecsSinceEpoch();
    if (ms > lastMs) {
        lastMs = ms;
        counter = quint16(random->bounded(0x800));
    } else if (++counter > 0xfff) {
        ++lastMs;
        counter = 0;
    }
    ms = lastMs;
    const quint64 tail = random->generate64();
    const uint timeHigh = uint(quint64(ms) >> 16);
    const ushort timeLow = ushort(ms & 0xffff);
    const ushort versionAndCounter = ushort(0x7000 | (counter & 0x0fff));
    const uchar variantAndRandom = uchar(0x80 | ((tail >> 56) & 0x3f));
    const QUuid uuid(timeHigh, timeLow, versionAndCounter, variantAndRandom, uchar(tail >> 48), uchar(tail >> 40),
                     uchar(tail >> 32), uchar(tail >> 24), uchar(tail >> 16), uchar(tail >> 8), uchar(tail));
    return uuid.toString(QUuid::WithoutBraces);
}

} // namespace Swamp
