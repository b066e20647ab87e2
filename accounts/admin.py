from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from accounts.access import CREATE_STUDIES
from accounts.models import Study, StudyInvitation, StudyMember, User
from accounts.services import researcher_grant


@admin.register(User)
class ChorusUserAdmin(UserAdmin):
    """The stock user admin, plus who may create studies (``can_create_studies``, also in the
    permissions list of each user) and an action to grant it."""

    list_display = ("username", "email", "first_name", "last_name", "is_staff", "creates_studies")
    actions = ["allow_study_creation"]

    @admin.display(boolean=True, description="may create studies")
    def creates_studies(self, user: User) -> bool:
        return user.has_perm(CREATE_STUDIES)

    @admin.action(description="Allow to create studies", permissions=["change"])
    def allow_study_creation(self, request, queryset):
        for user in queryset:
            researcher_grant(user=user)
        messages.info(request, f"{queryset.count()} user(s) may now create studies.")


@admin.register(StudyInvitation)
class StudyInvitationAdmin(admin.ModelAdmin):
    """A record of who was invited where; invitations are answered by the invitee only."""

    list_display = ["study", "user", "role", "status", "invited_by", "created_at"]
    list_filter = ["status", "role"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in StudyInvitation._meta.fields]

    def has_add_permission(self, request):
        return False


class StudyMemberInline(admin.TabularInline):
    model = StudyMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["name", "created_by", "created_at"]
    search_fields = ["name"]
    inlines = [StudyMemberInline]
