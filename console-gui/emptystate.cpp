#include "emptystate.h"

#include "client/adminsession.h"
#include "tabsupport.h"

#include <QAbstractItemView>
#include <QEvent>

namespace Swamp::Console {

EmptyState::EmptyState(QAbstractItemView *view, QAbstractItemModel *source,
                       const AdminSession *session, std::function<QString()> guidance,
                       const QString &filtered)
    : QLabel(view->viewport()), m_view(view), m_source(source), m_session(session),
      m_guidance(std::move(guidance)), m_filtered(filtered)
{
    setObjectName(QStringLiteral("emptyState"));
    setAlignment(Qt::AlignCenter);
    setWordWrap(true);
    setTextInteractionFlags(Qt::TextSelectableByMouse); // the commands can be copied
    setForegroundRole(QPalette::PlaceholderText);
    setContentsMargins(24, 24, 24, 24);
    view->viewport()->installEventFilter(this);
    QAbstractItemModel *shown = view->model();
    for (QAbstractItemModel *model : {shown, source}) {
        connect(model, &QAbstractItemModel::rowsInserted, this, &EmptyState::refresh);
        connect(model, &QAbstractItemModel::rowsRemoved, this, &EmptyState::refresh);
        connect(model, &QAbstractItemModel::modelReset, this, &EmptyState::refresh);
        connect(model, &QAbstractItemModel::layoutChanged, this, &EmptyState::refresh);
    }
    if (session)
        connect(session, &AdminSession::stateChanged, this, &EmptyState::refresh);
    refresh();
}

void EmptyState::refresh()
{
    if (m_view->model()->rowCount() > 0) {
        hide();
        return;
    }
    if (m_source->rowCount() > 0)
        setText(m_filtered);
    else if (m_session && !isOnline(m_session))
        setText(tr("Nothing to show: the console is not connected to the orchestrator."));
    else
        setText(m_guidance());
    place();
    show();
}

bool EmptyState::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_view->viewport() && event->type() == QEvent::Resize)
        place();
    return QLabel::eventFilter(watched, event);
}

void EmptyState::place()
{
    setGeometry(m_view->viewport()->rect());
}

} // namespace Swamp::Console
