"""Blueprint registry: one package per audience and area."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .context import register_context
    from .health import bp as health_bp
    from .opac import bp as opac_bp
    from .staff import bp as staff_bp
    from .staff.admin import bp as admin_bp
    from .staff.circulation import bp as circulation_bp
    from .staff.offline import bp as offline_bp
    from .staff.holds import bp as holds_bp
    from .staff.tools import bp as tools_bp
    from .staff.privacy import bp as privacy_bp
    from .staff.notices import bp as notices_bp

    register_context(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(opac_bp)
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(admin_bp, url_prefix="/staff/admin")
    app.register_blueprint(circulation_bp, url_prefix="/staff/circulation")
    app.register_blueprint(offline_bp, url_prefix="/staff/offline")
    app.register_blueprint(holds_bp, url_prefix="/staff/holds")
    app.register_blueprint(tools_bp, url_prefix="/staff/tools")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(privacy_bp, url_prefix="/staff/privacy")
    app.register_blueprint(notices_bp, url_prefix="/staff")
